// Issue 13 item 1: /metrics (Prometheus text format) after a run of sign-ins, tokens, a throttled
// request, a revocation and a store outage — names, labels and no raw id in any label; who may read
// it (loopback, METRICS_TOKEN, METRICS_PORT); two workers' counters added up in one scrape; and the
// JSON log's request id, pid and request-completion line.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as client from 'openid-client';
import { pino } from 'pino';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { openLoginForm, signInAndConsent, CookieJar } from '../helpers/browserless-login.ts';
import { authorizationRequest } from '../helpers/relying-party.ts';
import { codeAt, createMfaFlow } from '../helpers/mfa-flow.ts';
import { getOnNewConnection, parseScrape, sumOf, type Sample } from '../helpers/metrics.ts';
import { freePort } from '../helpers/free-port.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const actor = { kind: 'system', id: 'test' } as const;
const REDIRECT_URI = 'http://localhost/callback';
const PASSWORD = 'metrics are not secrets 5tq';
const scrape = async (url: string) => parseScrape(await (await fetch(url)).text());

const testRedis: TestRedis | undefined = process.env.REDIS_URL ? undefined : await startTestRedis();
// Here too, for runs that filter that suite out (-t).
afterAll(() => testRedis?.stop());
const logDir = makeTempDir('metrics-log');
const logFile = join(logDir.path, 'server.log');
afterAll(() => logDir.remove());

(testRedis ? describe : describe.skip)('/metrics after a run (Redis mode, a private redis-server stopped at the end)', () => {
  let server: TestServer;
  let samples: Sample[];
  const ids: string[] = [];
  let completedRequestId = '';
  let outageRequestId = '';

  beforeAll(async () => {
    server = await startTestServer({ redisUrl: testRedis!.url, redisKeyPrefix: testRedis!.prefix, log: { file: logFile, level: 'debug' },
      configure: (config) => ({ ...config, loginThrottle: { ...config.loginThrottle, failuresPerAccount: 2 } }) });
    const deps = server.services.applicationDeps;
    const web = await createApplication(deps, { name: 'Chat', type: 'web', redirectUris: [REDIRECT_URI] }, actor);
    const native = await createApplication(deps, { name: 'Chat Mobile', type: 'native', redirectUris: ['com.example.chat:/cb'] }, actor);
    const bot = await createApplication(deps, { name: 'Bot', type: 'service', scope: 'message:send' }, actor);
    const app = { clientId: web.application.clientId, secret: web.secret!.clientSecret };
    const email = 'metrics.person@example.test';
    const account = await createAccount(server.services.accountDeps, { email, password: PASSWORD, emailVerified: true }, actor);
    ids.push(app.clientId, native.application.clientId, bot.application.clientId, email, account.id);

    // Code + refresh for a confidential client, then the refresh token revoked (its grant with it).
    const authorization = await authorizationRequest(server.issuer, app, REDIRECT_URI, { scope: 'openid offline_access', prompt: 'consent' });
    const tokens = await authorization.redeem(await signInAndConsent(server.issuer, authorization.url.href, { email, password: PASSWORD }));
    const refreshed = await client.refreshTokenGrant(authorization.config, tokens.refresh_token!);
    await client.tokenRevocation(authorization.config, refreshed.refresh_token!);
    // A code for a public (native) client.
    const mobile = await authorizationRequest(server.issuer, { clientId: native.application.clientId }, 'com.example.chat:/cb');
    await mobile.redeem(await signInAndConsent(server.issuer, mobile.url.href, { email, password: PASSWORD }));
    // Client credentials, twice.
    for (let i = 0; i < 2; i += 1) {
      const answer = await fetch(`${server.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${bot.application.clientId}:${bot.secret!.clientSecret}`).toString('base64')}` },
      body: 'grant_type=client_credentials&scope=message%3Asend' });
      expect(answer.status).toBe(200);
    }
    // Wrong passwords for one email until the throttle answers 429 (failuresPerAccount: 2).
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await (await openLoginForm(server.issuer, app.clientId, email))('wrong password 1')).status);
    expect(statuses).toEqual([401, 429, 429]);
    // A second factor: one wrong code, one right.
    const mfaEmail = 'metrics.mfa@example.test';
    await createAccount(server.services.accountDeps, { email: mfaEmail, password: PASSWORD, emailVerified: true }, actor);
    const flow = createMfaFlow(server, app, REDIRECT_URI, PASSWORD);
    const { secret } = await flow.enrol(mfaEmail);
    const jar = new CookieJar();
    const codeStep = await flow.afterPassword(mfaEmail, jar);
    expect((await flow.post(jar, codeStep, '/mfa', { code: '000000' })).postStatus).toBe(401);
    expect((await flow.post(jar, codeStep, '/mfa', { code: await codeAt(secret, 1) })).postStatus).toBe(303);
    // Paths no route knows, one with an id-like segment.
    const unknown = await fetch(`${server.issuer}/no/such/${app.clientId}?code=abc`);
    expect(unknown.status).toBe(404);
    completedRequestId = unknown.headers.get('x-request-id')!;
    // Redis stops: a sign-in form posted then finds no interaction store (503), and its store error is counted.
    const postLogin = await openLoginForm(server.issuer, app.clientId, email);
    await testRedis!.stop();
    const unavailable = await postLogin(PASSWORD);
    expect(unavailable.status).toBe(503);
    outageRequestId = unavailable.headers.get('x-request-id')!;
    samples = await scrape(`${server.issuer}/metrics`);
  }, 120_000);
  afterAll(async () => {
    // Back up first, so that the server's Redis client closes instead of retrying.
    await testRedis?.restart?.();
    await server?.close();
    await testRedis?.stop();
  });

  it('counts requests and latency by method, route template and status', () => {
    expect(sumOf(samples, 'tokenim_http_requests_total', { method: 'POST', route: '/token', status: '200' })).toBe(5);
    expect(sumOf(samples, 'tokenim_http_requests_total', { method: 'POST', route: '/interaction/:uid/login', status: '401' })).toBeGreaterThanOrEqual(1);
    expect(sumOf(samples, 'tokenim_http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);
    expect(sumOf(samples, 'tokenim_http_request_duration_seconds_count', { method: 'POST', route: '/token' })).toBe(5);
    const buckets = samples.filter((s) => s.name === 'tokenim_http_request_duration_seconds_bucket' && s.labels.route === '/token');
    expect(buckets.map((s) => s.labels.le)).toEqual(['0.005', '0.02', '0.05', '0.1', '0.25', '1', '5', '+Inf']);
  });

  it('counts tokens by grant type and client type, sign-in and second-factor outcomes, 429s', () => {
    expect(sumOf(samples, 'tokenim_tokens_issued_total', { grant_type: 'authorization_code', client_type: 'confidential' })).toBe(1);
    expect(sumOf(samples, 'tokenim_tokens_issued_total', { grant_type: 'authorization_code', client_type: 'public' })).toBe(1);
    expect(sumOf(samples, 'tokenim_tokens_issued_total', { grant_type: 'refresh_token', client_type: 'confidential' })).toBe(1);
    expect(sumOf(samples, 'tokenim_tokens_issued_total', { grant_type: 'client_credentials', client_type: 'confidential' })).toBe(2);
    expect(sumOf(samples, 'tokenim_sign_ins_total', { outcome: 'signed_in' })).toBe(4); // two apps, the enrolment's sign-in, the two-factor sign-in
    expect(sumOf(samples, 'tokenim_sign_ins_total', { outcome: 'invalid_credentials' })).toBe(1);
    expect(sumOf(samples, 'tokenim_sign_ins_total', { outcome: 'throttled' })).toBe(2);
    expect(sumOf(samples, 'tokenim_second_factor_checks_total', { outcome: 'mfa_code_wrong' })).toBe(1);
    expect(sumOf(samples, 'tokenim_second_factor_checks_total', { outcome: 'totp_accepted' })).toBe(1);
    expect(sumOf(samples, 'tokenim_throttled_requests_total', { route: '/interaction/:uid/login' })).toBe(2);
  });

  it('times store operations by store and counts the failures of a store that is down', () => {
    expect(sumOf(samples, 'tokenim_store_operation_duration_seconds_count', { store: 'sqlite' })).toBeGreaterThan(10);
    expect(sumOf(samples, 'tokenim_store_operation_duration_seconds_count', { store: 'redis' })).toBeGreaterThan(10);
    expect(sumOf(samples, 'tokenim_store_errors_total', { store: 'redis', kind: 'unavailable' })).toBeGreaterThanOrEqual(1);
    expect(sumOf(samples, 'tokenim_store_errors_total', { store: 'sqlite' })).toBe(0);
  });

  it('counts revocation events published and ledger appends by type; process metrics are there', () => {
    expect(sumOf(samples, 'tokenim_revocation_events_published_total', { kind: 'grant' })).toBe(1);
    expect(sumOf(samples, 'tokenim_ledger_appends_total', { type: 'client.created' })).toBe(3);
    // The wrong password, and the one that reached the limit (the third is refused before any check).
    expect(sumOf(samples, 'tokenim_ledger_appends_total', { type: 'login.failed' })).toBe(2);
    expect(sumOf(samples, 'tokenim_ledger_appends_total', { type: 'mfa.failed' })).toBe(1);
    expect(sumOf(samples, 'tokenim_ledger_appends_total', { type: 'grant.revoked' })).toBeGreaterThanOrEqual(1);
    expect(sumOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('has no raw id, email or path in any label: routes are templates', () => {
    const values = samples.filter((s) => s.name.startsWith('tokenim_')).flatMap((s) => Object.values(s.labels));
    expect(values.filter((value) => ids.some((id) => value.includes(id)))).toEqual([]);
    const routes = new Set(samples.filter((s) => s.labels.route !== undefined).map((s) => s.labels.route!));
    for (const route of routes) expect(route).toMatch(/^(unmatched|(\/(:?[a-z_.-]+|\.well-known))+|\/)$/i);
    expect([...routes].filter((route) => /\/no\/|[0-9a-f]{8}-/.test(route))).toEqual([]);
  });

  it('logs JSON lines with pid, the request id of the request, and one debug line per request without its query', () => {
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.every((line) => line.pid === process.pid)).toBe(true);
    const completed = lines.filter((line) => line.msg === 'request completed');
    expect(completed.length).toBeGreaterThan(30);
    expect(completed.every((line) => typeof line.requestId === 'string' && typeof line.durationMs === 'number')).toBe(true);
    expect(completed.find((line) => line.requestId === completedRequestId)).toMatchObject({ method: 'GET', route: 'unmatched', status: 404 });
    // The outage's warning was logged while serving the refused sign-in: it carries that request's id.
    expect(lines.find((line) => line.msg === 'a store is unavailable')).toMatchObject({ level: 40, requestId: outageRequestId });
    expect(JSON.stringify(completed)).not.toMatch(/code=abc|\/no\/such/);
  });
});

// A server of this process bound to every interface, so that a request can come from a
// non-loopback address of this machine.
async function startOnAllInterfaces(env: Record<string, string>): Promise<{ running: RunningServer; port: number; close(): Promise<void> }> {
  const tmp = makeTempDir('metrics-access');
  const port = await freePort();
  const config = loadConfig({ PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: tmp.path, LOG_LEVEL: 'silent', ...env });
  const running = await startServer(config, createLogger('silent', pino.destination({ dest: '/dev/null' })), { host: '0.0.0.0' });
  return { running, port, close: async () => { await running.stop(); tmp.remove(); } };
}

const externalAddress = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

describe('who may read /metrics', () => {
  it('neither METRICS_PORT nor METRICS_TOKEN: loopback only, judged by the socket (X-Forwarded-For does not count)', async () => {
    if (!externalAddress) throw new Error('this test needs a non-loopback IPv4 address on this machine');
    const server = await startOnAllInterfaces({ TRUST_PROXY: 'true' });
    try {
      expect((await getOnNewConnection(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(200);
      const remote = await getOnNewConnection(`http://${externalAddress}:${server.port}/metrics`, { 'X-Forwarded-For': '127.0.0.1' });
      expect(remote.status).toBe(403);
      expect(remote.body).not.toContain('tokenim_');
      expect((await getOnNewConnection(`http://${externalAddress}:${server.port}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('METRICS_TOKEN: a bearer token is required, from loopback too; the right one from anywhere', async () => {
    const token = 'scrape-token-0123456789abcdef';
    const server = await startOnAllInterfaces({ METRICS_TOKEN: token });
    try {
      const url = `http://127.0.0.1:${server.port}/metrics`;
      const none = await getOnNewConnection(url);
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      const wrong = await getOnNewConnection(url, { authorization: `Bearer ${token.slice(0, -1)}x` });
      expect(wrong.status).toBe(401);
      expect(wrong.headers['www-authenticate']).toContain('error="invalid_token"');
      expect((await getOnNewConnection(url, { authorization: `Basic ${token}` })).status).toBe(401);
      const right = await getOnNewConnection(url, { authorization: `Bearer ${token}` });
      expect(right.status).toBe(200);
      expect(right.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      if (externalAddress) {
        expect((await getOnNewConnection(`http://${externalAddress}:${server.port}/metrics`, { authorization: `Bearer ${token}` })).status)
          .toBe(200);
      }
    } finally {
      await server.close();
    }
  });

  it('METRICS_PORT: served on that port only, not on the main one', async () => {
    const metricsPort = await freePort();
    const server = await startOnAllInterfaces({ METRICS_PORT: String(metricsPort) });
    try {
      expect((await getOnNewConnection(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(404);
      const scraped = await getOnNewConnection(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(scraped.status).toBe(200);
      expect(scraped.body).toContain('# TYPE tokenim_http_requests_total counter');
      expect((await getOnNewConnection(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(404);
    } finally {
      await server.close();
    }
    // Closed with the server.
    await expect(getOnNewConnection(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
  });

  it('refuses a bad METRICS_PORT or a short METRICS_TOKEN at start-up, naming the variable', () => {
    const base = { DATA_DIR: logDir.path, PORT: '3000' };
    expect(() => loadConfig({ ...base, METRICS_PORT: 'nine' })).toThrow(/^METRICS_PORT: must be a whole number/);
    expect(() => loadConfig({ ...base, METRICS_PORT: '3000' })).toThrow(/^METRICS_PORT: must differ from PORT/);
    expect(() => loadConfig({ ...base, METRICS_TOKEN: 'short' })).toThrow(/^METRICS_TOKEN: must be at least 16 characters/);
    expect(loadConfig({ ...base, METRICS_PORT: '9464', METRICS_TOKEN: 'a'.repeat(16) })).toMatchObject({ metrics: { port: 9464 },
      metricsToken: 'a'.repeat(16) });
  });
});

/** `node src/main.ts` with WORKERS=2 on a free port, once both workers listen (the primary's debug lines say so). */
async function startCluster(env: Record<string, string>) {
  const tmp = makeTempDir('metrics-cluster');
  const port = await freePort();
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: tmp.path, LOG_LEVEL: 'debug',
      WORKERS: '2', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the workers did not start within 30 s: ${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if ((output.match(/"msg":"worker listening"/g) ?? []).length === 2) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}: ${output}`)));
  });
  await ready;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    /** The log lines so far, parsed. */
    lines: () => output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      tmp.remove();
    },
  };
}

describe('two workers, one scrape', () => {
  const REQUESTS = 24;

  it('a scrape landing on either worker has both workers\' counters added up', async () => {
    const cluster = await startCluster({});
    try {
      for (let i = 0; i < REQUESTS; i += 1) expect((await getOnNewConnection(`${cluster.url}/healthz`)).status).toBe(200);
      const scrapes = [];
      for (let i = 0; i < 4; i += 1) scrapes.push(await getOnNewConnection(`${cluster.url}/metrics`));
      for (const scraped of scrapes) {
        expect(scraped.status).toBe(200);
        expect(sumOf(parseScrape(scraped.body), 'tokenim_http_requests_total', { route: '/healthz', status: '200' })).toBe(REQUESTS);
      }
      // Each worker served part of the requests, and the scrapes landed on both.
      const served = new Map<unknown, number>();
      const scrapedBy = new Set<unknown>();
      for (const line of cluster.lines().filter((l) => l.msg === 'request completed')) {
        if (line.route === '/healthz') served.set(line.pid, (served.get(line.pid) ?? 0) + 1);
        if (line.route === '/metrics') scrapedBy.add(line.pid);
      }
      expect(served.size).toBe(2);
      expect([...served.values()].every((count) => count < REQUESTS)).toBe(true);
      expect(scrapedBy.size).toBe(2);
    } finally {
      await cluster.stop();
    }
  }, 90_000);

  it('with METRICS_PORT the primary serves the sum on that port, the workers none on theirs', async () => {
    const metricsPort = await freePort();
    const cluster = await startCluster({ METRICS_PORT: String(metricsPort) });
    try {
      for (let i = 0; i < REQUESTS; i += 1) await getOnNewConnection(`${cluster.url}/healthz`);
      expect((await getOnNewConnection(`${cluster.url}/metrics`)).status).toBe(404);
      const scraped = await getOnNewConnection(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(scraped.status).toBe(200);
      expect(sumOf(parseScrape(scraped.body), 'tokenim_http_requests_total', { route: '/healthz', status: '200' })).toBe(REQUESTS);
    } finally {
      await cluster.stop();
    }
  }, 90_000);
});
