import { randomUUID } from 'node:crypto';
import type { ClientSecretRecord } from '../storage/contract.ts';
import { AppError } from '../shared/app-error.ts';
import { generateClientSecret, hashClientSecret, secretHint } from './client-secret.ts';

export interface SecretLifetimeDeps {
  /** Key of the keyed hash of client secrets (derived from SECRET_KEY). */
  secretHashKey: Buffer;
  /** The default lifetime of a new key; 0: keys do not expire. */
  secretLifetimeSeconds: number;
}

/** A new key: the secret to show once, and the record that keeps only its hash. */
export function issueSecret(
  deps: SecretLifetimeDeps,
  now: Date,
  expiresInSeconds?: number,
): { clientSecret: string; record: ClientSecretRecord } {
  if (expiresInSeconds !== undefined && (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1)) {
    throw new AppError('invalid_expires_in', 'the key lifetime is a whole number of seconds, 1 or more');
  }
  const lifetime = expiresInSeconds ?? deps.secretLifetimeSeconds;
  const clientSecret = generateClientSecret();
  return {
    clientSecret,
    record: {
      id: `sec_${randomUUID()}`,
      hint: secretHint(clientSecret),
      hash: hashClientSecret(deps.secretHashKey, clientSecret),
      createdAt: now,
      expiresAt: lifetime > 0 ? new Date(now.getTime() + lifetime * 1000) : null,
      replacedAt: null,
      graceEndsAt: null,
      revokedAt: null,
      lastUsedAt: null,
      expiryNoticesSent: [],
    },
  };
}
