// node:sqlite is synchronous: a write that waited inside SQLite for another connection's lock would
// stall every request of the process. Here a second connection (another process on the DATA_DIR, a
// backup, an operator's sqlite3 shell) holds the write lock on the server's file. The server runs as
// its own process, so that the probes' clock is not frozen along with it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { sqliteFile } from '../../src/storage/open-stores.ts';
import { openSqliteDatabase } from '../../src/storage/sqlite/open-sqlite.ts';
import { openLoginForm } from '../helpers/browserless-login.ts';
import { cli, spawnServer, type ServerProcess } from '../helpers/spawn-server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
const EMAIL = 'lock@example.test';
const PASSWORD = 'a sufficiently long password';
const REDIRECT_URI = 'http://localhost/callback';
const dir = makeTempDir('sqlite-lock');
let server: ServerProcess;
let clientId: string;

beforeAll(async () => {
  const env = { DATA_DIR: dir.path };
  await cli(env, 'users', 'create', '--email', EMAIL, '--password', PASSWORD, '--verified');
  clientId = String((await cli(env, 'clients', 'create', '--name', 'Web', '--type', 'web', '--redirect-uri', REDIRECT_URI)).client_id);
  server = await spawnServer(env);
});
afterAll(async () => {
  await server?.stop();
  dir.remove();
});

/** Opens the sign-in page (before the lock: starting an interaction writes too); returns its form post. */
async function openSignIn() {
  const postLogin = await openLoginForm(server.url, clientId, EMAIL, REDIRECT_URI);
  return () => postLogin(PASSWORD);
}

/** A second connection takes the write lock and keeps it until released. */
function holdWriteLock() {
  const holder = new DatabaseSync(sqliteFile(dir.path));
  holder.exec('BEGIN IMMEDIATE');
  holder.exec('UPDATE accounts SET updated_at = updated_at');
  return () => {
    holder.exec('COMMIT');
    holder.close();
  };
}

async function timedHealthz() {
  const started = performance.now();
  const response = await fetch(`${server.url}/healthz`);
  await response.text();
  return { status: response.status, ms: performance.now() - started };
}

/** The ledger's successful sign-ins, read from the file. */
function signInsRecorded(): number {
  const reader = new DatabaseSync(sqliteFile(dir.path), { readOnly: true });
  try {
    return Number((reader.prepare("SELECT count(*) AS n FROM audit_ledger WHERE type = 'login.succeeded'").get() as { n: number }).n);
  } finally {
    reader.close();
  }
}

describe('SQLite locked by another connection', () => {
  it('while a sign-in waits for the lock, /healthz answers within 100 ms and /readyz answers 503 naming sqlite; released, the sign-in completes', async () => {
    const submit = await openSignIn();
    const recordedBefore = signInsRecorded();
    const release = holdWriteLock();
    let isSettled = false;
    const posted = submit().finally(() => { isSettled = true; });
    try {
      // About a second of probes while the sign-in's write waits.
      for (let probe = 0; probe < 10; probe += 1) {
        const healthz = await timedHealthz();
        expect(healthz.status).toBe(200);
        expect(healthz.ms).toBeLessThan(100);
        await sleep(100);
      }
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'unavailable', stores: { sqlite: expect.stringMatching(/cannot write: locked/) } });
      expect(isSettled).toBe(false);
    } finally {
      release();
    }
    const response = await posted;
    expect(response.status).toBe(303);
    expect(signInsRecorded()).toBe(recordedBefore + 1);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('a sign-in still locked out past the deadline answers 503 and writes nothing; posted again after the release, it completes', async () => {
    const submit = await openSignIn();
    const recordedBefore = signInsRecorded();
    const release = holdWriteLock();
    try {
      const response = await submit();
      expect(response.status).toBe(503);
      expect(signInsRecorded()).toBe(recordedBefore);
    } finally {
      release();
    }
    expect((await submit()).status).toBe(303);
    expect(signInsRecorded()).toBe(recordedBefore + 1);
  });

  it('start-up against a file locked past the deadline fails with a message naming the file, instead of hanging', () => {
    const release = holdWriteLock();
    try {
      expect(() => openSqliteDatabase(sqliteFile(dir.path))).toThrow(/tokenim-auth\.sqlite stayed locked by another connection/);
    } finally {
      release();
    }
  });
});
