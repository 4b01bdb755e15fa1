// Embedded mode (no Redis): the sign-in failure counters live in the SQLite file, so a lockout
// survives a restart and the processes sharing one DATA_DIR count together (NIST SP 800-63B §5.2.2).
import { afterAll, describe, expect, it } from '@jest/globals';
import { createApplication } from '../../src/applications/create-application.ts';
import { openLoginForm } from '../helpers/browserless-login.ts';
import { cli, spawnServer, type ServerProcess } from '../helpers/spawn-server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { startTestServer } from '../helpers/test-server.ts';

const REDIRECT_URI = 'http://localhost/callback';
const dirs: { remove(): void }[] = [];
const processes: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  dirs.forEach((d) => d.remove());
});

function dataDir(label: string) {
  const dir = makeTempDir(label);
  dirs.push(dir);
  return dir.path;
}

/** Opens the sign-in page at `issuer`; the returned function posts a password for one account. */
const loginPage = (issuer: string, clientId: string) => openLoginForm(issuer, clientId, 'shared@example.test', REDIRECT_URI);

describe('login throttling in embedded mode (counters in SQLite)', () => {
  it('a lockout survives a restart on the same DATA_DIR: still 429 with Retry-After', async () => {
    const env = { DATA_DIR: dataDir('throttle-restart') };
    const first = await startTestServer({ env });
    const { application } = await createApplication(first.services.applicationDeps,
      { name: 'Web', type: 'web', redirectUris: [REDIRECT_URI] }, { kind: 'system', id: 'test' });
    const attempt = await loginPage(first.issuer, application.clientId);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await attempt(`wrong ${i}`)).status);
    expect(statuses).toEqual([...Array(9).fill(401), 429]);
    await first.close();

    const second = await startTestServer({ env });
    try {
      const afterRestart = await (await loginPage(second.issuer, application.clientId))('wrong again');
      expect(afterRestart.status).toBe(429);
      expect(Number(afterRestart.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await second.close();
    }
  });

  it('two processes on one DATA_DIR count together: the 10th failure overall is refused with 429', async () => {
    const env = { DATA_DIR: dataDir('throttle-processes') };
    const web = await cli(env, 'clients', 'create', '--name', 'Web', '--type', 'web', '--redirect-uri', REDIRECT_URI);
    const a = await spawnServer(env);
    processes.push(a);
    const b = await spawnServer(env);
    processes.push(b);
    const [atA, atB] = await Promise.all([loginPage(a.url, String(web.client_id)), loginPage(b.url, String(web.client_id))]);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await (i % 2 ? atB! : atA!)(`wrong ${i}`)).status);
    expect(statuses).toEqual([...Array(9).fill(401), 429]);
    const refused = await atA!('another');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
