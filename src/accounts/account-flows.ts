import type { ArtifactStore } from '../storage/contract.ts';
import type { AccountMail } from '../mail/account-mail.ts';
import type { AccountSessions } from '../oidc/account-sessions.ts';
import type { Locale } from '../permissions/catalog.ts';
import type { AccountDeps } from './create-account.ts';
import type { CurrentPasswordDeps } from './manage-account.ts';

/** What the sign-up, verification, reset and account-page flows need besides the account store. */
export interface AccountFlowDeps extends AccountDeps, CurrentPasswordDeps {
  /** The durable artifact store: one-time tokens live there (they must survive a Redis flush). */
  tokens: ArtifactStore;
  mail: AccountMail;
  sessions: AccountSessions;
  links: AccountLinks;
}

export interface AccountLinks {
  /** `interaction`: the sign-in the person started, to continue it once confirmed. */
  verifyEmail(token: string, interaction?: string): string;
  resetPassword(token: string): string;
  confirmEmailChange(token: string): string;
  forgotPassword(): string;
  account(): string;
  accountSecurity(): string;
}

export function createAccountLinks(issuer: string): AccountLinks {
  const link = (path: string, token?: string) => `${issuer}${path}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  return {
    verifyEmail: (token, interaction) =>
      `${link('/verify-email', token)}${interaction ? `&interaction=${encodeURIComponent(interaction)}` : ''}`,
    resetPassword: (token) => link('/reset-password', token),
    confirmEmailChange: (token) => link('/account/confirm-email', token),
    forgotPassword: () => link('/forgot-password'),
    account: () => link('/account'),
    accountSecurity: () => link('/account/security'),
  };
}

/** Who asked, for the audit ledger and the mails. */
export interface RequestContext {
  ip: string | null;
  locale: Locale;
}
