import { join } from 'node:path';
import { pino } from 'pino';
import type { Services } from '../services.ts';
import { notifyExpiringSecrets } from '../applications/notify-expiring-secrets.ts';
import { createAccountMail } from '../mail/account-mail.ts';
import { createMailQueue } from '../mail/mail-queue.ts';
import { createMailer } from '../mail/mailer.ts';
import { createRenderer } from '../http/render.ts';
import { createLogger } from '../shared/logger.ts';
import { isoDate } from './command.ts';

/** How long the command waits for its mail to go out before exiting. */
const DRAIN_MS = 30_000;

/** `clients notify-expiring`: one run of the expiry-warning job, with the mail it queued delivered. */
export async function runExpiryNotices(services: Services) {
  const { config } = services;
  // Log lines go to stderr: stdout carries the command's JSON only (PRODUCT.md, command line).
  const logger = createLogger(config.logLevel, pino.destination({ dest: 2, sync: true }));
  const queue = createMailQueue(
    createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, outboxDir: join(config.dataDir, 'outbox'), logger }), logger);
  const sent = await notifyExpiringSecrets({
    applications: services.stores.durable.applications, accounts: services.stores.durable.accounts,
    mail: createAccountMail(queue, createRenderer()), developersUrl: `${config.issuer}/developers`,
  });
  await queue.drain(DRAIN_MS);
  return {
    sent: sent.map((n) => ({ client_id: n.clientId, secret_id: n.secretId, hint: n.hint, to: n.to, days_before: n.days,
      expires_at: isoDate(n.expiresAt) })),
  };
}
