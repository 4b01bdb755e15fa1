import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { createMailQueue, type MailJob } from '../../src/mail/mail-queue.ts';
import type { Mailer, MailMessage } from '../../src/mail/mailer.ts';

const LINK = 'https://id.example.com/reset-password?token=live-token';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: pino({ level: 'trace' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) };
}

function job(to = 'wei@example.test', counter = { composed: 0 }): MailJob {
  return {
    template: 'reset_password',
    to,
    async compose(): Promise<MailMessage> {
      counter.composed += 1;
      return { template: 'reset_password', to, subject: 'Reset', text: LINK, html: LINK };
    },
  };
}

/** A mailer whose deliveries wait until released, one by one or all at once. */
function heldMailer() {
  const sent: string[] = [];
  const holds: (() => void)[] = [];
  const mailer: Mailer = {
    async send(message) {
      await new Promise<void>((resolve) => holds.push(resolve));
      sent.push(message.to);
    },
  };
  const releaseAll = () => holds.splice(0).forEach((release) => release());
  return { mailer, sent, holds, releaseAll };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('createMailQueue', () => {
  it('accepts a mail before composing it, then composes and delivers it', async () => {
    const { mailer, sent, releaseAll } = heldMailer();
    const counter = { composed: 0 };
    const queue = createMailQueue(mailer, capturingLogger().logger);
    await queue.enqueue(job('wei@example.test', counter));
    expect(counter.composed).toBe(0);
    await turn();
    expect(counter.composed).toBe(1);
    releaseAll();
    expect(await queue.drain(1000)).toBe(0);
    expect(sent).toEqual(['wei@example.test']);
  });

  it('retries a failed delivery without composing again, then logs the template and domain, never the content', async () => {
    const { lines, logger } = capturingLogger();
    const counter = { composed: 0 };
    let attempts = 0;
    const failing: Mailer = {
      async send() {
        attempts += 1;
        throw Object.assign(new Error('550 5.1.1 <lin@mail.example.cn>: Recipient address rejected'), { code: 'EENVELOPE', responseCode: 550 });
      },
    };
    const queue = createMailQueue(failing, logger, { retryDelaysMs: [1, 1] });
    await queue.enqueue(job('lin@mail.example.cn', counter));
    expect(await queue.drain(1000)).toBe(0);
    expect({ attempts, composed: counter.composed }).toEqual({ attempts: 3, composed: 1 });
    expect(lines.map(({ level, msg, template, domain, attempt }) => ({ level, msg, template, domain, attempt }))).toEqual([
      { level: 40, msg: 'mail delivery failed; retrying', template: 'reset_password', domain: 'mail.example.cn', attempt: 1 },
      { level: 40, msg: 'mail delivery failed; retrying', template: 'reset_password', domain: 'mail.example.cn', attempt: 2 },
      { level: 50, msg: 'mail not delivered', template: 'reset_password', domain: 'mail.example.cn', attempt: 3 },
    ]);
    expect(lines[2]).toMatchObject({
      error: { code: 'EENVELOPE', responseCode: 550, message: '550 5.1.1 <*@mail.example.cn>: Recipient address rejected' },
    });
    expect(JSON.stringify(lines)).not.toMatch(/live-token|lin@/);
  });

  it('stops waiting at the drain deadline and logs what is left', async () => {
    const { lines, logger } = capturingLogger();
    const { mailer, releaseAll } = heldMailer();
    const queue = createMailQueue(mailer, logger, { concurrency: 1 });
    await queue.enqueue(job('a@example.test'));
    await queue.enqueue(job('b@example.test'));
    expect(await queue.drain(50)).toBe(2);
    expect(lines.at(-1)).toMatchObject({ msg: 'stopped with mail not delivered', undelivered: 2, templates: { reset_password: 2 } });
    releaseAll();
  });

  it('never makes the sender wait: past `capacity` waiting mails a new one is dropped and logged', async () => {
    const { mailer, sent, releaseAll } = heldMailer();
    const { lines, logger } = capturingLogger();
    const queue = createMailQueue(mailer, logger, { concurrency: 1, capacity: 1 });
    await queue.enqueue(job('first@example.test'));
    await turn(); // first in flight, held
    await queue.enqueue(job('second@example.test')); // waiting: the queue is full
    let thirdAnswered = false;
    await queue.enqueue(job('third@example.test')).then(() => { thirdAnswered = true; });
    expect(thirdAnswered).toBe(true);
    expect(lines.at(-1)).toMatchObject({ msg: 'mail dropped: the queue is full', template: 'reset_password', domain: 'example.test' });
    expect(JSON.stringify(lines)).not.toContain('third@');
    for (let i = 0; i < 5 && sent.length < 2; i += 1) {
      releaseAll();
      await turn();
    }
    expect(await queue.drain(1000)).toBe(0);
    expect(sent).toEqual(['first@example.test', 'second@example.test']);
  });
});
