import type { Locale } from '../permissions/catalog.ts';
import type { Renderer } from '../http/render.ts';
import type { Mailer } from './mailer.ts';

export type AccountMailKind =
  | 'verify_email' | 'account_exists' | 'reset_password' | 'password_changed' | 'confirm_new_email' | 'email_changed'
  | 'mfa_enabled' | 'mfa_disabled';

export interface AccountMail {
  send(kind: AccountMailKind, to: string, locale: Locale, link: string, params?: Record<string, string>): Promise<void>;
}

/**
 * The mails people get about their account, in their language, as text and HTML. The text part
 * carries the full link on a line of its own, so it works in any mail client.
 */
export function createAccountMail(mailer: Mailer, renderer: Renderer): AccountMail {
  return {
    async send(kind, to, locale, link, params = {}) {
      const t = renderer.translations[locale];
      const subject = t(`mail.${kind}.subject`, params);
      const intro = t(`mail.${kind}.intro`, params);
      const action = t(`mail.${kind}.action`, params);
      const outro = t(`mail.${kind}.outro`, params);
      const text = `${intro}\n\n${action}:\n${link}\n\n${outro}\n\n— TokenIM\n`;
      const html = renderer.html(locale, 'mail/account-mail', { subject, intro, action, outro, link });
      await mailer.send({ to, subject, text, html }, link);
    },
  };
}
