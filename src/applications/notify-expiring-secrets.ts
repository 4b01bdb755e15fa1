import type { AccountStore, ApplicationRecord, ApplicationStore, ClientSecretRecord } from '../storage/contract.ts';
import type { AccountMail } from '../mail/account-mail.ts';
import type { Locale } from '../permissions/catalog.ts';

/** Warnings go out this many days before a key expires, each once (issue 10, item 5). */
export const EXPIRY_NOTICE_DAYS = [14, 1] as const;

const DAY_MS = 86_400_000;
/** Applications registered on /developers record their owner's language; others get English. */
const FALLBACK_LOCALE: Locale = 'en';
/** How many applications one run looks at. */
const SCAN_LIMIT = 100_000;

export interface NotifyExpiringDeps {
  applications: Pick<ApplicationStore, 'listApplications' | 'updateApplication'>;
  accounts: Pick<AccountStore, 'findAccountById'>;
  mail: Pick<AccountMail, 'send'>;
  /** Where the owner manages the application's keys. */
  developersUrl: string;
}

export interface ExpiryNotice {
  clientId: string;
  secretId: string;
  hint: string;
  to: string;
  days: number;
  expiresAt: Date;
}

/** The nearest threshold a key has reached and not been warned about, or undefined. */
export function dueNoticeDays(secret: ClientSecretRecord, now: Date): number | undefined {
  // Keys ended by a rotation or revoked need no warning; neither do keys without expiry or already expired.
  if (!secret.expiresAt || secret.replacedAt || secret.revokedAt || secret.expiresAt <= now) return undefined;
  const left = secret.expiresAt.getTime() - now.getTime();
  const due = [...EXPIRY_NOTICE_DAYS].sort((a, b) => a - b).find((days) => left <= days * DAY_MS);
  return due !== undefined && !secret.expiryNoticesSent.includes(due) ? due : undefined;
}

/** Thrown inside the store's compare-and-set when another run recorded the notice first. */
class AlreadyNoticed extends Error {}

/**
 * Marks the notice on the secret with the store's compare-and-set; true only for the one caller
 * whose change won, so with every instance running the job each warning goes out once.
 */
async function claimNotice(deps: NotifyExpiringDeps, clientId: string, secretId: string, days: number, now: Date): Promise<boolean> {
  try {
    const update = await deps.applications.updateApplication(clientId, (application) => {
      const secret = application.secrets.find((s) => s.id === secretId);
      if (!secret || application.revokedAt || dueNoticeDays(secret, now) !== days) throw new AlreadyNoticed();
      return { ...application, secrets: application.secrets.map((s) =>
        (s === secret ? { ...s, expiryNoticesSent: [...s.expiryNoticesSent, days] } : s)) };
    });
    return update !== undefined;
  } catch (error) {
    if (error instanceof AlreadyNoticed) return false;
    throw error;
  }
}

/**
 * Mails each application's owner about keys expiring within 14 days and within 1 day, once per key
 * and threshold. Idempotent and safe on every instance at once. A notice is recorded before its
 * mail is queued: a crash in between loses that mail rather than sending it twice.
 */
export async function notifyExpiringSecrets(deps: NotifyExpiringDeps, now = new Date()): Promise<ExpiryNotice[]> {
  const sent: ExpiryNotice[] = [];
  const applications = await deps.applications.listApplications(SCAN_LIMIT);
  for (const application of applications) {
    if (application.revokedAt || application.ownerId === null) continue;
    for (const secret of application.secrets) {
      const days = dueNoticeDays(secret, now);
      if (days === undefined) continue;
      const owner = await deps.accounts.findAccountById(application.ownerId);
      if (!owner || owner.disabled) continue;
      if (!(await claimNotice(deps, application.clientId, secret.id, days, now))) continue;
      await deps.mail.send('api_key_expiring', owner.email, application.ownerLocale ?? FALLBACK_LOCALE, deps.developersUrl,
        noticeParams(application, secret, now));
      sent.push({ clientId: application.clientId, secretId: secret.id, hint: secret.hint, to: owner.email, days, expiresAt: secret.expiresAt! });
    }
  }
  return sent;
}

function noticeParams(application: ApplicationRecord, secret: ClientSecretRecord, now: Date): Record<string, string> {
  const daysLeft = Math.max(1, Math.ceil((secret.expiresAt!.getTime() - now.getTime()) / DAY_MS));
  return { name: application.name, hint: secret.hint, date: `${secret.expiresAt!.toISOString().slice(0, 16).replace('T', ' ')} UTC`, days: String(daysLeft) };
}
