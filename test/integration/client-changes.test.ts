// Issue 12, item 2: each instance keeps its clients in memory, and a change made anywhere reaches
// every instance within 1 s: two server processes on one DATA_DIR (a counter row read at most every
// 250 ms) and two on one Redis (pub/sub). The changes are made from a third process (this one, or
// the CLI), after both servers have the client in memory.
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/load-config.ts';
import { buildServices, type Services } from '../../src/services.ts';
import { closeConnections } from '../../src/storage/open-stores.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { disableApplication, enableApplication } from '../../src/applications/set-application-enabled.ts';
import { rotateClientSecret } from '../../src/applications/rotate-client-secret.ts';
import { revokeClientSecret } from '../../src/applications/revoke-client-secret.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { cli, spawnServer, type ServerProcess } from '../helpers/spawn-server.ts';
import { startTestRedis } from '../helpers/redis-server.ts';

const testRedis = await startTestRedis();
const actor = { kind: 'system', id: 'test' } as const;
const WITHIN_MS = 1000;
const running: ServerProcess[] = [];
const opened: Services[] = [];
const dirs: { remove(): void }[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
  await Promise.all(opened.splice(0).map((s) => closeConnections(s.stores.connections)));
});
afterAll(async () => {
  dirs.forEach((d) => d.remove());
  await testRedis?.stop();
});

const tokenStatus = async (url: string, clientId: string, secret: string) => (await fetch(`${url}/token`, {
  method: 'POST',
  headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded' },
  body: 'grant_type=client_credentials&scope=message%3Asend',
})).status;

/** How long after `since` every server answered `status` for this key (polled every 20 ms); fails past 3 s. */
async function allAnswerAfter(servers: ServerProcess[], clientId: string, secret: string, status: number, since = Date.now()) {
  const took = await Promise.all(servers.map(async (server) => {
    for (;;) {
      if (await tokenStatus(server.url, clientId, secret) === status) return Date.now() - since;
      if (Date.now() - since > 3000) return Infinity;
      await new Promise((r) => setTimeout(r, 20));
    }
  }));
  return Math.max(...took);
}

const modes = [
  ['embedded SQLite, two processes on one DATA_DIR', {}],
  ...(testRedis ? [['Redis, two processes on one Redis', { REDIS_URL: testRedis.url }]] as const : []),
] as const;

describe.each(modes)('%s', (_mode, extraEnv) => {
  it('a disabled application, a key past its grace, a revoked key and a revoked application stop working within 1 s on both', async () => {
    const dir = makeTempDir('client-changes');
    dirs.push(dir);
    const env: Record<string, string> = { DATA_DIR: dir.path, ...extraEnv };
    // This process is a third instance on the same stores (as the CLI and another server are).
    const services = await buildServices(loadConfig({ ...env, LOG_LEVEL: 'silent' }));
    opened.push(services);
    const deps = services.applicationDeps;
    const { application, secret } = await createApplication(deps, { name: 'Bot', type: 'service', scope: 'message:send' }, actor);
    const { clientId } = application;
    const first = secret!.clientSecret;
    const servers = await Promise.all([spawnServer(env), spawnServer(env)]);
    running.push(...servers);
    // Both keep the client in memory from here on.
    expect(await allAnswerAfter(servers, clientId, first, 200)).toBeLessThan(WITHIN_MS);

    await disableApplication(deps, clientId, actor);
    expect(await allAnswerAfter(servers, clientId, first, 401)).toBeLessThanOrEqual(WITHIN_MS);
    await enableApplication(deps, clientId, actor);
    expect(await allAnswerAfter(servers, clientId, first, 200)).toBeLessThanOrEqual(WITHIN_MS);

    // A new key works everywhere at once; the replaced one until its grace ends, then nowhere.
    const second = await rotateClientSecret(deps, clientId, { graceSeconds: 2 }, actor);
    expect(await allAnswerAfter(servers, clientId, second.clientSecret, 200)).toBeLessThanOrEqual(WITHIN_MS);
    expect(await allAnswerAfter(servers, clientId, first, 200)).toBeLessThan(WITHIN_MS);
    const graceEnds = second.previousSecretValidUntil!.getTime();
    await new Promise((r) => setTimeout(r, graceEnds - Date.now()));
    expect(await allAnswerAfter(servers, clientId, first, 401, graceEnds)).toBeLessThanOrEqual(WITHIN_MS);

    // A key revoked by its owner (still in its grace: the newest stays).
    const third = await rotateClientSecret(deps, clientId, { graceSeconds: 600 }, actor);
    expect(await allAnswerAfter(servers, clientId, second.clientSecret, 200)).toBeLessThan(WITHIN_MS);
    await revokeClientSecret(deps, clientId, second.secretId, actor);
    expect(await allAnswerAfter(servers, clientId, second.clientSecret, 401)).toBeLessThanOrEqual(WITHIN_MS);
    expect(await allAnswerAfter(servers, clientId, third.clientSecret, 200)).toBeLessThan(WITHIN_MS);

    // From the command line, another process again.
    await cli(env, 'clients', 'revoke', '--client-id', clientId);
    expect(await allAnswerAfter(servers, clientId, third.clientSecret, 401)).toBeLessThanOrEqual(WITHIN_MS);
  }, 60_000);
});
