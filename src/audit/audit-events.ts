// Every event the ledger records, one typed union (issue "Admin console and the permission ledger",
// item 2): a misspelt type does not compile, and the console's type filter lists exactly these.

export const AUDIT_EVENT_TYPES = [
  // Accounts and sign-in.
  'account.registered', 'account.register_existing', 'email.verified', 'account.profile_updated',
  'account.email_change_requested', 'account.email_changed', 'account.disabled', 'account.enabled',
  'account.activation_resent',
  // A sign-in: succeeded once complete (every factor the account and the app require); the password
  // step of a sign-in that still needs the second factor; refused during a lockout (once per lockout).
  'login.succeeded', 'login.password_accepted', 'login.failed', 'login.throttled',
  'password.changed', 'password.reset', 'password.reset_requested', 'role.changed',
  // Second factor.
  'mfa.enrolled', 'mfa.disabled', 'mfa.reset', 'mfa.failed', 'mfa.replayed', 'mfa.recovery_code_used',
  'mfa.recovery_codes_regenerated',
  // What people authorized applications to do.
  'grant.created', 'grant.updated', 'grant.revoked',
  // Applications and their keys.
  'client.created', 'client.updated', 'client.deleted', 'client.revoked', 'client.disabled', 'client.enabled',
  'client.scopes_requested', 'client.scopes_approved', 'client.scopes_refused', 'client.scopes_changed',
  'client.secret_created', 'client.secret_rotated', 'client.secret_revoked', 'client.secret_expired',
  // Tokens by client credentials, one event per client per minute (src/audit/token-issuance.ts).
  'token.issued',
  // A client over its token rate limit: once per client per minute (src/applications/token-rate-limit.ts).
  'client.throttled',
  // A signed-in person refused by the admin console (403): who, which page, the access it needs.
  'admin.denied',
  // The server and the ledger itself.
  'keys.rotated', 'ledger.purged',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export const isAuditEventType = (value: string): value is AuditEventType => (AUDIT_EVENT_TYPES as readonly string[]).includes(value);
