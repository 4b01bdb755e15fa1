import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/logger.ts';
import { buildServices } from '../services.ts';
import { closeConnections } from '../storage/open-stores.ts';
import { createMailer } from '../mail/mailer.ts';
import { createMailQueue } from '../mail/mail-queue.ts';
import { createAccountMail } from '../mail/account-mail.ts';
import { createRenderer } from '../http/render.ts';
import { startInstanceJobs } from '../instance-jobs.ts';

/**
 * The cluster primary's share of the work: it opens the stores itself, before any worker (the
 * SQLite schema and the generated secret key are then made once, not raced for), and runs the
 * once-per-instance jobs with a mail queue of its own.
 */
export async function startPrimaryJobs(config: Config, logger: Logger): Promise<{ stop(): Promise<void> }> {
  const { stores } = await buildServices(config);
  try {
    const mailQueue = createMailQueue(
      createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, outboxDir: join(config.dataDir, 'outbox'), logger }), logger);
    const jobs = startInstanceJobs({ config, logger, sqlite: stores.sqlite, applications: stores.durable.applications,
      accounts: stores.durable.accounts, mail: createAccountMail(mailQueue, createRenderer()) });
    return {
      async stop() {
        jobs.stop();
        await mailQueue.drain(config.shutdownGraceSeconds * 1000);
        await closeConnections(stores.connections);
      },
    };
  } catch (error) {
    await closeConnections(stores.connections);
    throw error;
  }
}
