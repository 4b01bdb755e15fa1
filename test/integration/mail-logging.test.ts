// No live link in the logs (ASVS 5 16.2.5): without SMTP_URL each mail goes to DATA_DIR/outbox and
// the log line names its file; the verification and reset tokens stay in the file. The server logs
// into this test at every level, through sign-up, activation and a password reset.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { basename } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load-config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { freePort } from '../helpers/free-port.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { CookieJar, csrfFrom, request } from '../helpers/browserless-login.ts';
import { lastMailTo, readOutbox } from '../helpers/outbox.ts';

const EMAIL = 'quiet@example.test';
const lines: string[] = [];
const dataDir = makeTempDir('mail-log');
let server: RunningServer;

beforeAll(async () => {
  const port = await freePort();
  const config = loadConfig({ PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: dataDir.path });
  const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
  server = await startServer(config, logger, { host: '127.0.0.1' });
});
afterAll(async () => {
  await server.stop();
  dataDir.remove();
});

/** GETs `url` for its form's CSRF token, then POSTs the form to `action`. */
async function submit(url: string, action: string, form: Record<string, string>) {
  const jar = new CookieJar();
  const csrf = csrfFrom(await (await request(jar, url)).text());
  return request(jar, new URL(action, server.url).href, { form: { ...form, _csrf: csrf } });
}

describe('the outbox (no SMTP_URL)', () => {
  it('logs the file of each mail, never a link or its token', async () => {
    expect((await submit(`${server.url}/register`, '/register', { email: EMAIL, password: 'a quiet harbour at dawn', name: 'Wei' })).status)
      .toBe(303);
    const activation = (await lastMailTo(dataDir.path, EMAIL, /Activate/)).links[0]!;
    expect((await fetch(activation)).status).toBe(200);
    expect((await submit(`${server.url}/forgot-password`, '/forgot-password', { email: EMAIL })).status).toBe(303);
    const reset = (await lastMailTo(dataDir.path, EMAIL, /Reset/)).links[0]!;
    const token = new URL(reset).searchParams.get('token')!;
    expect((await submit(reset, '/reset-password', { token, password: 'a brand new passphrase' })).status).toBe(303);
    await server.stop(); // delivers what is still queued (the "password changed" notice)

    const mails = await readOutbox(dataDir.path);
    const links = mails.flatMap((mail) => mail.links).filter((link) => new URL(link).searchParams.has('token'));
    const tokens = links.map((link) => new URL(link).searchParams.get('token')!);
    expect(tokens).toEqual([expect.any(String), expect.any(String)]); // activation and reset
    expect([...links, ...tokens].filter((secret) => lines.some((line) => line.includes(secret)))).toEqual([]);

    const logged = lines.map((line) => JSON.parse(line) as { file?: string; to?: string });
    expect(logged.filter((entry) => entry.file).map((entry) => [basename(entry.file!), entry.to]).sort())
      .toEqual(mails.map((mail) => [mail.file, mail.to]).sort());
  });
});
