// The example TokenIM API as the README runs it: `npx tokenim-auth example-api credentials`, then
// `ISSUER=… PORT=… npm run example:im-api` with the server's DATA_DIR. It polls GET /revocations
// with the credentials the CLI wrote, so a revoked application's tokens stop working at once.
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { freePort } from '../helpers/free-port.ts';
import { cli, spawnServer, type ServerProcess } from '../helpers/spawn-server.ts';
import * as client from 'openid-client';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { createDpopProofVerifier } from '../../src/resource-server/verify-dpop-proof.ts';
import { createRedisReplayCache } from '../../src/resource-server/dpop-replay-cache.ts';
import { openRedis } from '../../src/storage/redis/open-redis.ts';
import { startTestServer } from '../helpers/test-server.ts';
import { startExampleApi as startApiInProcess } from '../helpers/example-api.ts';
import { signInAndConsent } from '../helpers/browserless-login.ts';
import { authorizationRequest, discoverAs } from '../helpers/relying-party.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const running: { stop(): Promise<unknown> }[] = [];
const dirs: { remove(): void }[] = [];
afterEach(async () => { await Promise.all(running.splice(0).map((r) => r.stop())); });
afterAll(() => dirs.forEach((d) => d.remove()));

async function startServer() {
  const dir = makeTempDir('example-api');
  dirs.push(dir);
  const server: ServerProcess = await spawnServer({ DATA_DIR: dir.path });
  running.push(server);
  return { server, dataDir: dir.path };
}

/** `npm run example:im-api` (npm puts the project's Node 24 first on PATH), until it says it listens. */
async function startExampleApi(env: Record<string, string>) {
  const port = await freePort();
  // Its own process group: npm runs node through a shell, and the whole group is stopped.
  const child: ChildProcess = spawn('npm', ['run', '--silent', 'example:im-api'], {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port) },
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  running.push({ stop: async () => { if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM'); await exited; } });
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 20 s: ${stdout}${stderr}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((l) => l.includes('listening'));
      if (line) { clearTimeout(timer); resolve(JSON.parse(line) as Record<string, unknown>); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited with ${code}: ${stdout}${stderr}`)); });
  });
  return { url: `http://127.0.0.1:${port}`, started, stderr: () => stderr };
}

async function serviceToken(issuer: string, dataDir: string) {
  const bot = await cli({ DATA_DIR: dataDir }, 'clients', 'create', '--name', 'Bot', '--type', 'service', '--scope', 'message:send');
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${String(bot.client_id)}:${String(bot.client_secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=message%3Asend',
  });
  return { clientId: String(bot.client_id), token: ((await response.json()) as { access_token: string }).access_token };
}

const post = (apiUrl: string, token: string) => fetch(`${apiUrl}/v1/messages`, {
  method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"text":"hi"}',
});

describe('the example API, run as the README shows it', () => {
  it('with `tokenim-auth example-api credentials` first it polls revocations: a revoked application is refused within 1 s', async () => {
    const { server, dataDir } = await startServer();
    const credentials = await cli({ DATA_DIR: dataDir }, 'example-api', 'credentials');
    expect(credentials).toMatchObject({ client_id: expect.stringMatching(/^tkm_/), reused: false,
      credentials_file: `${dataDir}/example-im-api.json` });
    expect(statSync(`${dataDir}/example-im-api.json`).mode & 0o077).toBe(0); // it holds a secret: owner only

    const api = await startExampleApi({ ISSUER: server.url, DATA_DIR: dataDir });
    expect(api.started).toMatchObject({ revocations: 'polling', credentials: `${dataDir}/example-im-api.json` });
    const { clientId, token } = await serviceToken(server.url, dataDir);
    expect((await post(api.url, token)).status).toBe(201);

    await cli({ DATA_DIR: dataDir }, 'clients', 'revoke', '--client-id', clientId);
    const start = Date.now();
    let status = 201;
    while (status !== 401 && Date.now() - start < 3000) {
      status = (await post(api.url, token)).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 25));
    }
    expect(status).toBe(401);
    expect(Date.now() - start).toBeLessThan(1000);
  });

  it('credentials are reused while they work and re-issued when the application was revoked', async () => {
    const { dataDir } = await startServer();
    const first = await cli({ DATA_DIR: dataDir }, 'example-api', 'credentials');
    expect(await cli({ DATA_DIR: dataDir }, 'example-api', 'credentials')).toMatchObject({ client_id: first.client_id, reused: true });
    await cli({ DATA_DIR: dataDir }, 'clients', 'revoke', '--client-id', String(first.client_id));
    chmodSync(`${dataDir}/example-im-api.json`, 0o644); // someone loosened it meanwhile
    const again = await cli({ DATA_DIR: dataDir }, 'example-api', 'credentials');
    expect(again).toMatchObject({ reused: false });
    expect(statSync(`${dataDir}/example-im-api.json`).mode & 0o077).toBe(0); // rewritten: owner only again
    expect(again.client_id).not.toBe(first.client_id);
    expect(await cli({ DATA_DIR: dataDir }, 'clients', 'show', '--client-id', String(again.client_id)))
      .toMatchObject({ resource_server: true, scope: '' });
  });

  it('without credentials it says that revoked tokens stay valid, and how to fix it', async () => {
    const { server, dataDir } = await startServer();
    expect(existsSync(`${dataDir}/example-im-api.json`)).toBe(false);
    const api = await startExampleApi({ ISSUER: server.url, DATA_DIR: dataDir });
    expect(api.started).toMatchObject({ revocations: 'off' });
    await new Promise((r) => setTimeout(r, 100));
    expect(api.stderr()).toContain('revoked tokens stay valid here until they expire; run `npx tokenim-auth example-api credentials`');
  });
});

describe('the example API in the caller\'s language (Accept-Language)', () => {
  const actor = { kind: 'system', id: 'test' } as const;

  it('a member\'s token (authorization code) at /v1/calls: 403 naming the roles that grant calls:read by their labels', async () => {
    const server = await startTestServer();
    running.push({ stop: () => server.close() });
    const api = await startApiInProcess(server);
    running.push({ stop: () => api.close() });
    await createAccount(server.services.accountDeps,
      { email: 'member@example.test', password: 'only a member here', emailVerified: true }, actor);
    const web = await createApplication(server.services.applicationDeps,
      { name: 'Chat Web', type: 'web', redirectUris: ['http://localhost/callback'] }, actor);
    const { url, redeem } = await authorizationRequest(server.issuer,
      { clientId: web.application.clientId, secret: web.secret!.clientSecret }, 'http://localhost/callback', { scope: 'openid message:send' });
    const tokens = await redeem(await signInAndConsent(server.issuer, url.href, { email: 'member@example.test', password: 'only a member here' }));
    const calls = (language: string) => fetch(`${api.url}/v1/calls`,
      { headers: { authorization: `Bearer ${tokens.access_token}`, 'accept-language': language } });

    const chinese = await calls('zh-CN');
    expect(chinese.status).toBe(403);
    expect(await chinese.json()).toEqual({ error: 'insufficient_scope', scope: 'calls:read',
      error_description: '此操作需要权限 calls:read；角色 客服 或 审计员 或 管理员 拥有此权限；请联系管理员' });
    // The header stays ASCII (RFC 6750 §3): English labels there.
    expect(chinese.headers.get('www-authenticate')).toContain('the role Support agent or Auditor or Administrator grants it');
    const english = await calls('en-GB');
    expect((await english.json() as { error_description: string }).error_description)
      .toBe('this needs the permission calls:read; the role Support agent or Auditor or Administrator grants it; ask an administrator');
  });

  it('503 when DPoP proofs cannot be checked (Redis down), in the caller\'s language, with Retry-After', async () => {
    const server = await startTestServer();
    running.push({ stop: () => server.close() });
    const { redis, connection } = openRedis(`redis://127.0.0.1:${await freePort()}`);
    running.push({ stop: () => connection.close() });
    const api = await startApiInProcess(server,
      { settings: { dpop: createDpopProofVerifier({ replay: createRedisReplayCache(redis, 'down:') }) } });
    running.push({ stop: () => api.close() });
    const bot = await createApplication(server.services.applicationDeps, { name: 'Bot', type: 'service', scope: 'message:send' }, actor);
    const config = await discoverAs(server.issuer, { clientId: bot.application.clientId, secret: bot.secret!.clientSecret });
    const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const { access_token: token } = await client.clientCredentialsGrant(config, { scope: 'message:send' }, { DPoP });
    // openid-client signs a fresh proof for each request (RFC 9449 §4.2).
    const send = (language: string) => client.fetchProtectedResource(config, token, new URL(`${api.url}/v1/messages`), 'POST',
      '{"text":"hi"}', new Headers({ 'content-type': 'application/json', 'accept-language': language }), { DPoP });

    const chinese = await send('zh-CN,zh;q=0.9');
    expect(chinese.status).toBe(503);
    expect(chinese.headers.get('retry-after')).toBe('1');
    expect(await chinese.text()).toBe('API 暂时无法检查 DPoP 证明；请稍后再试');
    const english = await send('en');
    expect(english.status).toBe(503);
    expect(await english.text()).toBe('the API cannot check DPoP proofs right now; try again in a moment');
  });
});
