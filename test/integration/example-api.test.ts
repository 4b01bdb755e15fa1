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
