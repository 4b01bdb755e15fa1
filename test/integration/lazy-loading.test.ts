// An idle server loads only what its configuration uses (issue 12, item 4): no MongoDB driver
// without MONGODB_URI, no ioredis without REDIS_URL, no nodemailer until a mail goes out, no QR
// code library until someone enrols an authenticator.
import { afterAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { spawnServer } from '../helpers/spawn-server.ts';
import { CookieJar, csrfFrom, request } from '../helpers/browserless-login.ts';

const RECORDER = fileURLToPath(new URL('../helpers/record-packages.ts', import.meta.url));
const dir = makeTempDir('lazy');
afterAll(() => dir.remove());

async function packagesLoaded(label: string, work: (url: string) => Promise<void>): Promise<string[]> {
  const file = join(dir.path, `${label}.txt`);
  const server = await spawnServer({ DATA_DIR: join(dir.path, label), NODE_OPTIONS: `--import ${RECORDER}`, RECORD_PACKAGES_FILE: file });
  await work(server.url);
  expect(await server.stop()).toBe(0);
  return readFileSync(file, 'utf8').split('\n');
}

describe('an embedded-mode server (no MONGODB_URI, REDIS_URL or SMTP_URL)', () => {
  it('serving protocol requests loads neither the MongoDB driver, ioredis, nodemailer nor qrcode', async () => {
    const loaded = await packagesLoaded('idle', async (url) => {
      expect((await fetch(`${url}/.well-known/openid-configuration`)).status).toBe(200);
      expect((await fetch(`${url}/jwks`)).status).toBe(200);
    });
    expect(loaded).toEqual(expect.arrayContaining(['oidc-provider', 'koa']));
    for (const lazy of ['mongodb', 'bson', 'ioredis', 'nodemailer', 'qrcode']) expect(loaded).not.toContain(lazy);
  });

  it('loads nodemailer with its first mail (to the outbox)', async () => {
    const loaded = await packagesLoaded('mail', async (url) => {
      const jar = new CookieJar();
      const csrf = csrfFrom(await (await request(jar, `${url}/register`)).text());
      const posted = await request(jar, `${url}/register`, {
        form: { email: 'lazy@example.test', password: 'a sufficiently long password', name: 'Lazy', _csrf: csrf } });
      expect(posted.status).toBe(303);
    });
    expect(loaded).toContain('nodemailer');
    const outbox = join(dir.path, 'mail', 'outbox');
    expect(readFileSync(join(outbox, readdirSync(outbox)[0]!), 'utf8')).toContain('lazy@example.test');
  });
});
