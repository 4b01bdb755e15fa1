import { randomUUID } from 'node:crypto';
import type { ClientSecretRecord } from '../storage/contract.ts';
import { AppError } from '../shared/app-error.ts';
import { generateClientSecret, hashClientSecret, secretHint, type SecretHashKey } from './client-secret.ts';

export interface SecretLifetimeDeps {
  /** Key of the keyed hash of client secrets (derived from SECRET_KEY). */
  secretHashKey: SecretHashKey;
  /** The default lifetime of a key made from the command line; 0: none of its own (the maximum applies). */
  commandLineSecretLifetimeSeconds: number;
  /** The default lifetime of a key made on /developers (90 days unless configured). */
  secretLifetimeSeconds: number;
  /** No key lives longer, whoever makes it; 0: no maximum. */
  maxSecretLifetimeSeconds: number;
}

/** Who asks for the key: a developer on /developers, or an operator (CLI) who may pick any lifetime up to the maximum. */
export interface SecretRequest {
  isSelfService: boolean;
  /** The key's lifetime instead of the default. */
  expiresInSeconds?: number | undefined;
}

/**
 * The one place that decides how long a new key lives: the asked-for lifetime, else the default of
 * who asks; never past the configured maximum. An asked-for lifetime above it is refused rather
 * than cut short, so that a script does not believe its key lives longer than it does; a default
 * of "none" (0) becomes the maximum.
 */
export function secretLifetimeSeconds(deps: SecretLifetimeDeps, request: SecretRequest): number {
  const { expiresInSeconds } = request;
  const max = deps.maxSecretLifetimeSeconds;
  if (expiresInSeconds !== undefined) {
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1) {
      throw new AppError('invalid_expires_in', 'the key lifetime is a whole number of seconds, 1 or more');
    }
    if (max > 0 && expiresInSeconds > max) {
      throw new AppError('expires_in_too_long', `the key lifetime is at most ${max} seconds (config clients.maxSecretLifetimeSeconds)`,
        { params: { max } });
    }
    return expiresInSeconds;
  }
  const fallback = request.isSelfService ? deps.secretLifetimeSeconds : deps.commandLineSecretLifetimeSeconds;
  return max > 0 && (fallback === 0 || fallback > max) ? max : fallback;
}

/** A new key: the secret to show once, and the record that keeps only its hash. */
export function issueSecret(
  deps: SecretLifetimeDeps,
  now: Date,
  request: SecretRequest,
): { clientSecret: string; record: ClientSecretRecord } {
  const lifetime = secretLifetimeSeconds(deps, request);
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
      expiredUseRecordedAt: null,
    },
  };
}
