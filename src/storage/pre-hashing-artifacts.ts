// Since oidc-provider artifacts are stored under a keyed hash of their id (src/oidc/adapter.ts),
// rows written before are unreachable: lookups hash the id they are given. The migrations of the
// durable stores delete them instead of waiting for them to expire. Kept: grants (stored by their
// raw id, so consent survives the upgrade) and the verification and reset links of
// src/accounts/one-time-token.ts (already stored as SHA-256 of the token, never through the
// adapter; they go to the account's own address). Email-change links go: before this release a
// password-only sign-in could request one from /account, so none minted then is trusted. Part of
// migrations that have run: never edit.
export const MODELS_KEPT_BY_HASHING_MIGRATION: readonly string[] = [
  'Grant', 'EmailVerificationToken', 'PasswordResetToken',
];
