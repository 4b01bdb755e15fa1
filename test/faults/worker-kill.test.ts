// A worker killed with SIGKILL under load (issue 13 item 6): the other worker keeps serving, the
// primary starts a new one, and nothing that was acknowledged is lost: every registration answered
// 303 has its account and its ledger record, and the ledger's chain still verifies.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { cli, spawnServer } from '../helpers/spawn-server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { CookieJar, csrfFrom, request } from '../helpers/browserless-login.ts';
import { openSqliteDatabase } from '../../src/storage/sqlite/open-sqlite.ts';
import { sqliteFile } from '../../src/storage/open-stores.ts';

/** The live child processes of `pid`, from /proc (Linux; field 4 of /proc/<pid>/stat is the parent). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).filter((entry) => {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, parent] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(parent) === pid && state !== 'Z';
    } catch {
      return false; // gone meanwhile
    }
  }).map(Number);
}

describe('SIGKILL of a worker under load', () => {
  it('the other keeps serving, a new one starts, and every acknowledged registration is in the accounts and the ledger', async () => {
    const dir = makeTempDir('worker-kill');
    const env = { DATA_DIR: dir.path };
    const server = await spawnServer({ ...env, WORKERS: '2' });
    try {
      const primary = server.child.pid!;
      for (const deadline = Date.now() + 20_000; childrenOf(primary).length < 2;) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 100));
      }
      const acknowledged: string[] = [];
      const failed: { at: number; why: string }[] = [];
      let running = true;
      let n = 0;
      const loops = Array.from({ length: 6 }, async (_, loop) => {
        while (running) {
          const email = `load-${loop}-${(n += 1)}@example.test`;
          try {
            const jar = new CookieJar();
            // A connection handed to the worker as it dies is never answered: the client gives up, as a real one would.
            const signal = AbortSignal.timeout(5000);
            const form = await (await request(jar, `${server.url}/register`, { headers: { connection: 'close' }, signal })).text();
            const posted = await request(jar, `${server.url}/register`,
              { form: { email, password: 'a long enough passphrase', name: 'Load', _csrf: csrfFrom(form) }, headers: { connection: 'close' }, signal });
            await posted.body?.cancel();
            if (posted.status === 303) acknowledged.push(email);
            else failed.push({ at: Date.now(), why: String(posted.status) });
          } catch (error) {
            failed.push({ at: Date.now(), why: String((error as Error).cause ?? error) });
          }
        }
      });
      await new Promise((r) => setTimeout(r, 1500));
      const [victim] = childrenOf(primary);
      const killedAt = Date.now();
      process.kill(victim!, 'SIGKILL');
      const beforeKill = acknowledged.length;
      await new Promise((r) => setTimeout(r, 2500));
      running = false;
      await Promise.all(loops);

      // Serving went on: registrations after the kill, and a new worker in the victim's place.
      expect(beforeKill).toBeGreaterThan(3);
      expect(acknowledged.length).toBeGreaterThan(beforeKill + 3);
      expect(childrenOf(primary).filter((pid) => pid !== victim)).toHaveLength(2);
      // Only what the killed worker held at that instant may fail (node:cluster hands a connection over as its worker dies).
      expect(failed.filter((f) => f.at < killedAt || f.at > killedAt + 6000)).toEqual([]);
      expect(await server.stop()).toBe(0);

      const db = openSqliteDatabase(sqliteFile(dir.path));
      try {
        const accounts = new Set((db.prepare('SELECT email FROM accounts').all() as { email: string }[]).map((row) => row.email));
        const registered = (db.prepare("SELECT COUNT(*) AS n FROM audit_ledger WHERE type = 'account.registered'").get() as { n: number }).n;
        expect(acknowledged.filter((email) => !accounts.has(email))).toEqual([]);
        expect(registered).toBeGreaterThanOrEqual(acknowledged.length);
      } finally {
        db.close();
      }
      expect(await cli(env, 'audit', 'verify')).toMatchObject({ ok: true });
    } finally {
      await server.stop();
      dir.remove();
    }
  }, 90_000);
});
