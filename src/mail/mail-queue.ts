import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../shared/logger.ts';
import type { Mailer, MailMessage } from './mailer.ts';

/** A mail to compose and deliver later; `template` and `to` are what a log line may say about it. */
export interface MailJob {
  template: string;
  to: string;
  compose(): Promise<MailMessage>;
}

export interface MailQueue {
  /** Resolves at once: the mail is queued (composed and delivered later), or dropped and logged when the queue is full. */
  enqueue(job: MailJob): Promise<void>;
  /**
   * Waits until every accepted mail is delivered or given up, at most `timeoutMs`, and resolves with
   * how many were still waiting or in flight; those are logged (templates and counts only).
   */
  drain(timeoutMs: number): Promise<number>;
}

export interface MailQueueOptions {
  /** Deliveries in flight at once. */
  concurrency?: number;
  /**
   * Mails waiting beyond this are dropped and logged, so memory stays bounded when SMTP is down. A
   * full queue never makes a request wait: that wait would tell a flood of /forgot-password posts
   * which addresses have an account (ASVS 5 6.3.8).
   */
  capacity?: number;
  /** Pauses before each retry of a failed attempt; one attempt more than there are pauses. */
  retryDelaysMs?: number[];
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);

/**
 * Composes and delivers mail off the request path: a request that mails answers as fast as one that
 * does not, whatever issuing the link's token, rendering or the SMTP server costs (ASVS 5 6.3.8: no
 * account enumeration by timing). A failed attempt is retried, then logged with the template and the
 * recipient's domain only, since the content holds live links (ASVS 5 16.2.5).
 */
export function createMailQueue(mailer: Mailer, logger: Logger, options: MailQueueOptions = {}): MailQueue {
  const { concurrency = 4, capacity = 1000, retryDelaysMs = [2_000, 10_000] } = options;
  const waiting: MailJob[] = [];
  const inFlight = new Set<MailJob>();
  const idleWaiters: (() => void)[] = [];

  async function deliver(job: MailJob): Promise<void> {
    // Composed once: composing can issue a one-time token, and a retry must not issue a second.
    let message: MailMessage | undefined;
    for (let attempt = 1; ; attempt += 1) {
      try {
        message ??= await job.compose();
        await mailer.send(message);
        return;
      } catch (error) {
        const { code, responseCode, message: reason } = (error ?? {}) as Record<string, unknown>;
        // An SMTP reply can quote the recipient: its local part stays out of the log, like the content.
        const failure = { template: job.template, domain: domainOf(job.to), attempt,
          error: { code, responseCode, message: String(reason).replace(/[^\s<>"'@]+@/g, '*@') } };
        const pause = retryDelaysMs[attempt - 1];
        if (pause === undefined) {
          logger.error(failure, 'mail not delivered');
          return;
        }
        logger.warn(failure, 'mail delivery failed; retrying');
        await sleep(pause, undefined, { ref: false });
      }
    }
  }

  function pump(): void {
    while (inFlight.size < concurrency && waiting.length > 0) {
      const job = waiting.shift()!;
      inFlight.add(job);
      void deliver(job).finally(() => {
        inFlight.delete(job);
        pump();
        if (inFlight.size === 0 && waiting.length === 0) idleWaiters.splice(0).forEach((resolve) => resolve());
      });
    }
  }

  return {
    async enqueue(job) {
      if (waiting.length >= capacity) {
        logger.error({ template: job.template, domain: domainOf(job.to), waiting: waiting.length }, 'mail dropped: the queue is full');
        return;
      }
      waiting.push(job);
      // On a later turn of the event loop: the request that enqueued carries on without composing.
      setImmediate(pump);
    },
    async drain(timeoutMs) {
      if (inFlight.size > 0 || waiting.length > 0) {
        const idle = new Promise<void>((resolve) => idleWaiters.push(resolve));
        const deadline = new AbortController();
        await Promise.race([idle, sleep(timeoutMs, undefined, { signal: deadline.signal }).catch(() => undefined)]);
        deadline.abort();
      }
      const left = [...inFlight, ...waiting];
      if (left.length > 0) {
        const templates: Record<string, number> = {};
        for (const { template } of left) templates[template] = (templates[template] ?? 0) + 1;
        logger.error({ undelivered: left.length, templates }, 'stopped with mail not delivered');
      }
      return left.length;
    },
  };
}
