import type { ApplicationRecord, ClientSecretRecord } from '../storage/contract.ts';
import { clientSecretMatches } from './client-secret.ts';

/** The page and the CLI warn about keys that end within this window (issue 10, item 5). */
export const EXPIRING_WITHIN_MS = 14 * 86_400_000;

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

/**
 * The one decision on a presented client secret, for the token endpoint, introspection and
 * revocation client authentication (src/oidc/client-auth.ts) and GET /revocations alike.
 */
export function checkClientSecret(
  secretHashKey: Buffer,
  application: Pick<ApplicationRecord, 'secrets' | 'revokedAt'>,
  presented: string,
  now: Date,
): SecretCheck {
  // Every hash is compared (no early exit): timing does not tell which key matched.
  const matches = application.secrets.map((s) => clientSecretMatches(secretHashKey, presented, s.hash));
  const secret = application.secrets[matches.indexOf(true)];
  if (!secret) return { ok: false, reason: 'no_match' };
  if (application.revokedAt) return { ok: false, reason: 'disabled' };
  if (isSecretLive(secret, now)) return { ok: true, secretId: secret.id };
  const end = secretEndsAt(secret) ?? now;
  // Its own expiry came first: it expired, replaced or not.
  if (!secret.replacedAt || (secret.expiresAt && secret.expiresAt.getTime() === end.getTime())) {
    return { ok: false, reason: 'expired', secretId: secret.id, at: end };
  }
  // Ended by a rotation (grace over, or the old key revoked at once): point to the newest key.
  return { ok: false, reason: 'replaced', secretId: secret.id, at: secret.replacedAt };
}
