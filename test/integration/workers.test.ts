// WORKERS=2: a primary and two node:cluster workers on one port and one DATA_DIR. Every request
// here goes out on a connection of its own (`Connection: close`), so the primary hands consecutive
// requests to different workers: a flow that works here works whichever worker serves each step.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { request as httpRequest } from 'node:http';
import { once } from 'node:events';
import * as client from 'openid-client';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { cli, spawnServer, type ServerProcess } from '../helpers/spawn-server.ts';
import { CookieJar, csrfFrom, openLoginForm, request, signInAndConsent } from '../helpers/browserless-login.ts';

const PASSWORD = 'a sufficiently long password';
const EMAIL = 'mei@example.test';
const REDIRECT_URI = 'http://localhost/callback';

const keepAliveFetch = globalThis.fetch;
beforeAll(() => {
  globalThis.fetch = (input, init) => {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set('connection', 'close');
    return keepAliveFetch(input, { ...init, headers });
  };
});
afterAll(() => {
  globalThis.fetch = keepAliveFetch;
});

const dirs: { remove(): void }[] = [];
const running: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});
afterAll(() => dirs.forEach((d) => d.remove()));

interface LogLine { pid: number; msg: string; [field: string]: unknown }
const logLines = (server: ServerProcess): LogLine[] => server.output().split('\n')
  .filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);
const workerPids = (server: ServerProcess) => [...new Set(logLines(server)
  .filter((line) => line.msg.startsWith('TokenIM Auth listening')).map((line) => line.pid))];

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startCluster() {
  const dir = makeTempDir('workers');
  dirs.push(dir);
  const env = { DATA_DIR: dir.path };
  await cli(env, 'users', 'create', '--email', EMAIL, '--password', PASSWORD, '--verified');
  const web = await cli(env, 'clients', 'create', '--name', 'Web', '--type', 'web', '--redirect-uri', REDIRECT_URI);
  const bot = await cli(env, 'clients', 'create', '--name', 'Bot', '--type', 'service', '--scope', 'message:send');
  const server = await spawnServer({ ...env, WORKERS: '2', LOG_LEVEL: 'debug' });
  running.push(server);
  await waitFor('two workers listening', () => workerPids(server).length === 2);
  return {
    server, dataDir: dir.path,
    web: { clientId: String(web.client_id), secret: String(web.client_secret) },
    bot: { clientId: String(bot.client_id), secret: String(bot.client_secret) },
  };
}

const basic = (app: { clientId: string; secret: string }) => `Basic ${Buffer.from(`${app.clientId}:${app.secret}`).toString('base64')}`;

describe('WORKERS=2', () => {
  it('two worker processes serve requests, each log line names its pid, and the SQLite sweep runs once, in the primary', async () => {
    const { server } = await startCluster();
    const workers = workerPids(server);
    expect(workers).not.toContain(server.child.pid);
    // Each reset request mails from the worker that served it; the mail's log line names that worker.
    const jar = new CookieJar();
    const csrf = csrfFrom(await (await request(jar, `${server.url}/forgot-password`)).text());
    for (let i = 0; i < 6; i += 1) {
      const posted = await request(jar, `${server.url}/forgot-password`, { form: { email: EMAIL, _csrf: csrf } });
      expect(posted.status).toBe(303);
    }
    const mailers = await waitFor('six mails', () => {
      const lines = logLines(server).filter((line) => line.msg.startsWith('mail written to the outbox'));
      return lines.length === 6 && lines.map((line) => line.pid);
    });
    expect(new Set(mailers)).toEqual(new Set(workers));

    const sweeps = logLines(server).filter((line) => line.msg.startsWith('SQLite sweep'));
    expect(sweeps.map((line) => line.pid)).toEqual([server.child.pid]);
  });

  it('sign-in, code exchange and refresh succeed with each request on another worker (the SQLite file is shared)', async () => {
    const { server, web } = await startCluster();
    const config = await client.discovery(new URL(server.url), web.clientId, undefined, client.ClientSecretBasic(web.secret), {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI, scope: 'openid offline_access message:send', prompt: 'consent',
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = new URL(await signInAndConsent(server.url, url.href, { email: EMAIL, password: PASSWORD }));
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, idTokenExpected: true });
    let refreshToken = tokens.refresh_token!;
    expect(refreshToken).toEqual(expect.any(String));
    for (let i = 0; i < 3; i += 1) {
      const refreshed = await client.refreshTokenGrant(config, refreshToken);
      expect(refreshed.access_token).toEqual(expect.any(String));
      refreshToken = refreshed.refresh_token ?? refreshToken;
    }
  });

  it('failed sign-ins are counted for the instance, not per worker: the 10th overall is refused with 429', async () => {
    const { server, web } = await startCluster();
    const attempt = await openLoginForm(server.url, web.clientId, EMAIL, REDIRECT_URI);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await attempt(`wrong ${i}`)).status);
    expect(statuses).toEqual([...Array(9).fill(401), 429]);
  });

  it('a worker killed with SIGKILL: the other keeps serving and the primary starts a new one', async () => {
    const { server, bot } = await startCluster();
    const [killed, survivor] = workerPids(server) as [number, number];
    process.kill(killed, 'SIGKILL');
    // A connection the primary hands over in the instant before it learns of the death is lost with
    // the worker (node:cluster round robin; README "Workers"): the requests start once it knows.
    const exited = await waitFor('the exit noticed', () => logLines(server).find((line) => line.msg.startsWith('a worker exited')));
    expect(exited).toMatchObject({ pid: server.child.pid, workerPid: killed, signal: 'SIGKILL', restartInMs: 250 });
    const tokenRequest = () => fetch(`${server.url}/token`, {
      method: 'POST', headers: { authorization: basic(bot), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=message%3Asend',
    });
    const statuses = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await tokenRequest()).status);
    expect(statuses).toEqual(Array(6).fill(200));

    const replacement = await waitFor('a new worker', () => workerPids(server).find((pid) => pid !== killed && pid !== survivor));
    expect(() => process.kill(replacement, 0)).not.toThrow();
    expect((await tokenRequest()).status).toBe(200);
  });

  it('SIGTERM to the primary: a request in flight is answered, then every process exits and the primary exits 0', async () => {
    const { server, bot } = await startCluster();
    const workers = workerPids(server);
    const body = 'grant_type=client_credentials&scope=message%3Asend';
    // The headers and half the body now; the rest once the stop has begun.
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${server.url}/token`, { method: 'POST', agent: false, headers: {
        authorization: basic(bot), 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 1000);
      }, 500);
    });
    const answered = await response;
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body)).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
    // No second signal: it would end the primary at once, as a second Ctrl-C does.
    const [exitCode] = server.child.exitCode === null ? await once(server.child, 'exit') : [server.child.exitCode];
    expect(exitCode).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  });
});
