import { createHash, randomBytes } from 'node:crypto';
import type { ArtifactPayload, ArtifactStore } from '../storage/contract.ts';

// Links mailed to people: stored as the SHA-256 of a 256-bit random token (a database read cannot
// be turned into a working link), in the durable store, redeemable exactly once (atomic consume).
const MODELS = {
  verify_email: 'EmailVerificationToken',
  reset_password: 'PasswordResetToken',
  change_email: 'EmailChangeToken',
} as const;

export type TokenPurpose = keyof typeof MODELS;

export const TOKEN_LIFETIME_SECONDS: Record<TokenPurpose, number> = {
  verify_email: 24 * 3600,
  reset_password: 3600,
  change_email: 24 * 3600,
};

const idOf = (token: string) => createHash('sha256').update(token).digest('base64url');

export async function issueOneTimeToken(
  store: ArtifactStore,
  purpose: TokenPurpose,
  payload: ArtifactPayload & { accountId: string },
  options: { supersede?: boolean } = {},
): Promise<string> {
  // `supersede`: the account's earlier links of this purpose stop working (only the latest counts).
  if (options.supersede) await revokeOneTimeTokens(store, payload.accountId, [purpose]);
  const token = randomBytes(32).toString('base64url');
  await store.upsert(MODELS[purpose], idOf(token), { ...payload, iat: Math.floor(Date.now() / 1000) }, TOKEN_LIFETIME_SECONDS[purpose]);
  return token;
}

/** The account's unused links of these purposes stop working. */
export async function revokeOneTimeTokens(store: ArtifactStore, accountId: string, purposes: TokenPurpose[]): Promise<void> {
  await Promise.all(purposes.map(async (purpose) => {
    const pending = await store.listByAccountId(MODELS[purpose], accountId);
    await Promise.all(pending.map(({ id }) => store.destroy(MODELS[purpose], id)));
  }));
}

/** The token's payload while it is unused and unexpired, without using it up. */
export async function peekOneTimeToken(store: ArtifactStore, purpose: TokenPurpose, token: string): Promise<ArtifactPayload | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  const payload = await store.find(MODELS[purpose], idOf(token));
  return payload && !payload.consumed ? payload : undefined;
}

/** Uses the token up: its payload for exactly one caller, undefined for every other. */
export async function redeemOneTimeToken(store: ArtifactStore, purpose: TokenPurpose, token: string): Promise<ArtifactPayload | undefined> {
  const payload = await peekOneTimeToken(store, purpose, token);
  if (!payload) return undefined;
  return (await store.consume(MODELS[purpose], idOf(token))) ? payload : undefined;
}
