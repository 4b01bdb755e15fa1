import { hash, timingSafeEqual } from 'node:crypto';
import type { ApplicationRecord, ClientSecretRecord } from '../storage/contract.ts';
import { hashClientSecret, hashesEqual, type SecretHashKey } from './client-secret.ts';
import { isApplicationUsable } from './find-live-application.ts';
import { EXPIRY_NOTICE_DAYS } from './notify-expiring-secrets.ts';

/**
 * The pages and the CLI warn about keys that end within this window (issue 10, item 5): the first
 * warning mail's threshold, so that the pages and the mail agree on what "expiring" means.
 */
export const EXPIRING_WITHIN_MS = Math.max(...EXPIRY_NOTICE_DAYS) * 86_400_000;

export type SecretStatus = 'active' | 'expiring' | 'in_grace' | 'expired' | 'revoked';

/** The moment a secret stops working, whichever of its expiry, grace end or revocation comes first; null: never. */
export function secretEndsAt(secret: ClientSecretRecord): Date | null {
  const ends = [secret.expiresAt, secret.graceEndsAt, secret.revokedAt].filter((d): d is Date => d !== null);
  return ends.length ? new Date(Math.min(...ends.map((d) => d.getTime()))) : null;
}

export const isSecretLive = (secret: ClientSecretRecord, now: Date): boolean => {
  const end = secretEndsAt(secret);
  return end === null || end > now;
};

export function secretStatus(application: Pick<ApplicationRecord, 'revokedAt'>, secret: ClientSecretRecord, now: Date): SecretStatus {
  if (application.revokedAt || (secret.revokedAt && secret.revokedAt <= now)) return 'revoked';
  if (!isSecretLive(secret, now)) return 'expired';
  if (secret.replacedAt) return 'in_grace';
  const end = secretEndsAt(secret);
  return end && end.getTime() - now.getTime() <= EXPIRING_WITHIN_MS ? 'expiring' : 'active';
}

/** An application's keys in one word, for the admin console's list: none (a native app), or as its longest-working key. */
export type KeyStatus = 'none' | 'active' | 'expiring' | 'expired';

/**
 * From secretStatus, the one rule per key: a key that works and ends after the window makes the
 * application `active`; one that works and ends within it (a replaced one in its grace included),
 * `expiring`; none working, `expired`.
 */
export function applicationKeyStatus(application: Pick<ApplicationRecord, 'revokedAt' | 'secrets'>, now: Date): KeyStatus {
  if (!application.secrets.length) return 'none';
  const statuses = new Set(application.secrets.map((secret) => secretStatus(application, secret, now)));
  if (statuses.has('active')) return 'active';
  return statuses.has('expiring') || statuses.has('in_grace') ? 'expiring' : 'expired';
}

/** When any of its keys was last accepted (up to a minute late: secret-use-tracker.ts), or null. */
export function lastKeyUse(application: Pick<ApplicationRecord, 'secrets'>): Date | null {
  const uses = application.secrets.map((s) => s.lastUsedAt?.getTime()).filter((t): t is number => t !== undefined);
  return uses.length ? new Date(Math.max(...uses)) : null;
}

/**
 * Why a presented secret is refused. Only a caller who presented a real key of this application
 * learns more than `no_match`, so a guesser learns nothing (issue 10, item 6).
 */
export type SecretCheck =
  | { ok: true; secretId: string }
  | { ok: false; reason: 'expired'; secretId: string; at: Date }
  | { ok: false; reason: 'replaced'; secretId: string; at: Date }
  | { ok: false; reason: 'disabled' }
  | { ok: false; reason: 'no_match' };

type SecretHolder = Pick<ApplicationRecord, 'secrets' | 'revokedAt' | 'disabledAt'>;

/**
 * The one decision on a presented client secret, for the token endpoint, introspection and
 * revocation client authentication (src/oidc/client-auth.ts) and GET /revocations alike.
 */
export function checkClientSecret(secretHashKey: SecretHashKey, application: SecretHolder, presented: string, now: Date): SecretCheck {
  return decideSecret(application, findMatchingSecret(secretHashKey, application.secrets, presented), now);
}

/** The key the presented secret is, if any: its keyed hash, made once, against every stored one. */
function findMatchingSecret(secretHashKey: SecretHashKey, secrets: readonly ClientSecretRecord[], presented: string) {
  const presentedHash = hashClientSecret(secretHashKey, presented);
  // Every hash is compared (no early exit): timing does not tell which key matched.
  const matches = secrets.map((s) => hashesEqual(presentedHash, s.hash));
  return secrets[matches.indexOf(true)];
}

/** What the rules of expiry, grace and revocation say of `secret` (the presented one's key, if any) now. */
function decideSecret(application: SecretHolder, secret: ClientSecretRecord | undefined, now: Date): SecretCheck {
  if (!secret) return { ok: false, reason: 'no_match' };
  if (!isApplicationUsable(application)) return { ok: false, reason: 'disabled' };
  if (isSecretLive(secret, now)) return { ok: true, secretId: secret.id };
  const end = secretEndsAt(secret) ?? now;
  // Its own expiry came first: it expired, replaced or not.
  if (!secret.replacedAt || (secret.expiresAt && secret.expiresAt.getTime() === end.getTime())) {
    return { ok: false, reason: 'expired', secretId: secret.id, at: end };
  }
  // Ended by a rotation (grace over, or the old key revoked at once): point to the newest key.
  return { ok: false, reason: 'replaced', secretId: secret.id, at: secret.replacedAt };
}

/**
 * checkClientSecret for the token endpoint, which sees the same key again and again: the SHA-256
 * of the last secret that was accepted for `version` (an object that stands for one version of an
 * application's keys, such as the provider's Client: src/oidc/client-cache.ts makes a new one when
 * the application changes) is remembered, so that the same secret is recognised by one plain hash
 * instead of the keyed one. The rules of decideSecret apply to it on every call all the same.
 * Only an accepted key's digest is kept, one per version; a 256-bit random secret's SHA-256 gives
 * away no more than the keyed hash the database holds.
 */
export function createRememberingSecretCheck(secretHashKey: SecretHashKey) {
  const accepted = new WeakMap<object, { digest: Buffer; secretId: string }>();
  return (version: object, application: SecretHolder, presented: string, now: Date): SecretCheck => {
    const digest = hash('sha256', presented, 'buffer');
    const known = accepted.get(version);
    const secret = known && timingSafeEqual(known.digest, digest)
      ? application.secrets.find((s) => s.id === known.secretId)
      : findMatchingSecret(secretHashKey, application.secrets, presented);
    const check = decideSecret(application, secret, now);
    if (check.ok) accepted.set(version, { digest, secretId: check.secretId });
    return check;
  };
}
