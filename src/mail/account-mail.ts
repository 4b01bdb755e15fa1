import type { Locale } from '../permissions/catalog.ts';
import type { Renderer } from '../http/render.ts';
import type { MailQueue } from './mail-queue.ts';

export type AccountMailKind =
  | 'verify_email' | 'account_exists' | 'reset_password' | 'password_changed' | 'confirm_new_email' | 'email_changed'
  | 'mfa_enabled' | 'mfa_disabled' | 'api_key_expiring';

/**
 * The link a mail carries, or how to make it when that has a cost (issuing its one-time token):
 * then it is made with the mail, off the request path.
 */
export type MailLink = string | (() => Promise<string>);

export interface AccountMail {
  /** Resolves once the mail is queued; it is composed and delivered afterwards. */
  send(kind: AccountMailKind, to: string, locale: Locale, link: MailLink, params?: Record<string, string>): Promise<void>;
}

/**
 * The mails people get about their account, in their language, as text and HTML. The text part
 * carries the full link on a line of its own, so it works in any mail client.
 */
export function createAccountMail(queue: MailQueue, renderer: Renderer): AccountMail {
  return {
    send(kind, to, locale, link, params = {}) {
      return queue.enqueue({
        template: kind,
        to,
        async compose() {
          const href = typeof link === 'string' ? link : await link();
          const t = renderer.translations[locale];
          const subject = t(`mail.${kind}.subject`, params);
          const intro = t(`mail.${kind}.intro`, params);
          const action = t(`mail.${kind}.action`, params);
          const outro = t(`mail.${kind}.outro`, params);
          const text = `${intro}\n\n${action}${t('colon').trimEnd()}\n${href}\n\n${outro}\n\n— TokenIM\n`;
          const html = renderer.html(locale, 'mail/account-mail', { subject, intro, action, outro, link: href });
          return { template: kind, to, subject, text, html };
        },
      });
    },
  };
}
