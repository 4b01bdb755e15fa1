import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type { Logger } from '../shared/logger.ts';

export interface MailMessage {
  /** Which mail this is (e.g. `verify_email`), for log lines that must not carry its content. */
  template: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** SMTP when SMTP_URL is set; otherwise each mail becomes DATA_DIR/outbox/<time>-<id>.eml and a log line. */
export function createMailer(options: { smtpUrl: string | undefined; from: string; outboxDir: string; logger: Logger }): Mailer {
  const { from, logger, smtpUrl } = options;
  // nodemailer (about 20 MB resident) is loaded with the first mail, not by a server that sends none.
  let transport: Promise<Transporter> | undefined;
  const loadTransport = () => (transport ??= import('nodemailer').then(({ default: nodemailer }) => (smtpUrl
    ? nodemailer.createTransport(smtpUrl)
    : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' }))));
  if (smtpUrl) {
    return {
      async send({ template: _template, ...message }) {
        await (await loadTransport()).sendMail({ from, ...message });
      },
    };
  }
  return {
    async send({ template, ...message }) {
      const info = await (await loadTransport()).sendMail({ from, ...message });
      await mkdir(options.outboxDir, { recursive: true });
      const file = join(options.outboxDir, `${Date.now()}-${randomBytes(4).toString('hex')}.eml`);
      await writeFile(file, info.message as Buffer, { mode: 0o600 });
      // The file, not the link: a log line with a live verification or reset token would hand the
      // account to whoever reads the logs (ASVS 5 16.2.5, no sensitive data in logs).
      logger.info({ template, to: message.to, subject: message.subject, file }, 'mail written to the outbox (no SMTP_URL)');
    },
  };
}
