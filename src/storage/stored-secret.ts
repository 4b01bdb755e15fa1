import { createHash } from 'node:crypto';
import type { ApplicationChange, ApplicationRecord, ApplicationStore, ApplicationUpdate, ClientSecretRecord } from './contract.ts';

/** A secret as a backend stores it: dates as Date (Mongo) or ISO strings (SQLite JSON); newer fields optional. */
export interface StoredSecret {
  id?: string;
  hint?: string;
  hash: string;
  createdAt: Date | string;
  expiresAt: Date | string | null;
  replacedAt?: Date | string | null;
  graceEndsAt?: Date | string | null;
  revokedAt?: Date | string | null;
  lastUsedAt?: Date | string | null;
  expiryNoticesSent?: number[];
  expiredUseRecordedAt?: Date | string | null;
}

const toDate = (value: Date | string | null | undefined): Date | null =>
  value === null || value === undefined ? null : new Date(value);

/**
 * Secrets stored before they had ids get a stable one derived from the hash (the same on every
 * read and every instance) and an unknown hint; the secret itself cannot be recovered to make one.
 */
export function readStoredSecret(stored: StoredSecret): ClientSecretRecord {
  return {
    id: stored.id ?? `sec_${createHash('sha256').update(stored.hash).digest('base64url').slice(0, 16)}`,
    hint: stored.hint ?? '',
    hash: stored.hash,
    createdAt: new Date(stored.createdAt),
    expiresAt: toDate(stored.expiresAt),
    replacedAt: toDate(stored.replacedAt),
    graceEndsAt: toDate(stored.graceEndsAt),
    revokedAt: toDate(stored.revokedAt),
    lastUsedAt: toDate(stored.lastUsedAt),
    expiryNoticesSent: stored.expiryNoticesSent ?? [],
    expiredUseRecordedAt: toDate(stored.expiredUseRecordedAt),
  };
}

/**
 * The compare-and-set loop of updateApplication, shared by the backends: each supplies its read
 * and its conditional write (which must be one atomic operation on `version`).
 */
export async function updateWithVersionCheck(
  find: () => Promise<ApplicationRecord | undefined>,
  replace: (next: ApplicationRecord, expectedVersion: number) => Promise<boolean>,
  change: ApplicationChange,
): Promise<ApplicationUpdate | undefined> {
  for (;;) {
    const before = await find();
    if (!before) return undefined;
    const next = change(before);
    if (await replace(next, before.version)) return { before, after: { ...next, clientId: before.clientId, version: before.version + 1 } };
  }
}

/**
 * recordSecretUse for a secret the cheap path cannot address (stored before secrets had ids):
 * through updateApplication, which then stores the derived id. False when there is no such secret.
 */
export async function recordUseByRewrite(store: Pick<ApplicationStore, 'updateApplication'>, clientId: string, secretId: string, at: Date): Promise<boolean> {
  let found = false;
  await store.updateApplication(clientId, (application) => {
    const secret = application.secrets.find((s) => s.id === secretId);
    found = secret !== undefined;
    if (!secret || (secret.lastUsedAt && secret.lastUsedAt >= at)) return application;
    return { ...application, secrets: application.secrets.map((s) => (s === secret ? { ...s, lastUsedAt: at } : s)) };
  });
  return found;
}
