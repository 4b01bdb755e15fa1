// The ledger's tamper evidence and export from the command line (issue 11 items 2–4), in the embedded
// (SQLite) and the Redis-mode setup: `audit verify` passes on a fresh ledger and names the first
// record that was edited, deleted or reordered; `audit purge` keeps the rest verifiable; `audit
// export` streams every record. MongoDB's store is covered by the conformance suite when MONGODB_URI is set.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load-config.ts';
import { buildServices, type Services } from '../../src/services.ts';
import { closeConnections, sqliteFile } from '../../src/storage/open-stores.ts';
import { openSqliteDatabase, MIGRATIONS } from '../../src/storage/sqlite/open-sqlite.ts';
import { createAuditLog } from '../../src/audit/audit-log.ts';
import { recordHash } from '../../src/audit/ledger-chain.ts';
import { verifyLedger } from '../../src/audit/ledger-verify.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const actor = { kind: 'system', id: 'test' } as const;

function tokenimAuth(env: Record<string, string>, ...args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['bin/tokenim-auth.js', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
  });
}

const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

let redis: TestRedis | undefined;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const setups = () => [
  ['embedded (SQLite)', {}],
  ...(redis ? [['Redis mode', { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix }] as const] : []),
] as const;

describe.each(['embedded (SQLite)', 'Redis mode'])('%s: audit verify', (setup) => {
  const dir = makeTempDir('ledger');
  let env: Record<string, string>;
  let services: Services;
  const db = () => services.stores.sqlite!;
  afterAll(async () => {
    await closeConnections(services.stores.connections);
    dir.remove();
  });
  beforeAll(async () => {
    const chosen = setups().find(([name]) => name === setup);
    if (!chosen) throw new Error(`${setup}: no redis-server on PATH and no REDIS_URL`);
    env = { DATA_DIR: dir.path, LOG_LEVEL: 'silent', ...chosen[1] };
    services = await buildServices(loadConfig(env));
    for (let i = 0; i < 6; i += 1) {
      await services.audit.record({ type: 'login.succeeded', actor, subject: `person-${i}`, permissions: ['message:send'], details: { i } });
    }
  });

  it('passes on a fresh ledger', async () => {
    const verified = await tokenimAuth(env, 'audit', 'verify');
    expect(verified).toMatchObject({ code: 0, stderr: '' });
    expect(json(verified.stdout)).toMatchObject({ ok: true, records: 6 });
  });

  it('names the record that was edited, then the gap where one was deleted, then the first of two swapped', async () => {
    const original = db().prepare('SELECT details FROM audit_ledger WHERE seq = 3').get() as { details: string };
    db().prepare('UPDATE audit_ledger SET details = ? WHERE seq = 3').run('{"i":99}');
    const edited = await tokenimAuth(env, 'audit', 'verify');
    expect(edited.code).toBe(1);
    expect(json(edited.stdout)).toMatchObject({ ok: false, first_broken: 3, records: 2 });
    expect(String(json(edited.stdout).reason)).toContain('changed');
    db().prepare('UPDATE audit_ledger SET details = ? WHERE seq = 3').run(original.details);
    expect((await tokenimAuth(env, 'audit', 'verify')).code).toBe(0);

    // Swapped: record 4's content under seq 5 and the other way round.
    db().exec('UPDATE audit_ledger SET seq = -5 WHERE seq = 5; UPDATE audit_ledger SET seq = 5 WHERE seq = 4; UPDATE audit_ledger SET seq = 4 WHERE seq = -5');
    expect(json((await tokenimAuth(env, 'audit', 'verify')).stdout)).toMatchObject({ ok: false, first_broken: 4 });
    db().exec('UPDATE audit_ledger SET seq = -5 WHERE seq = 5; UPDATE audit_ledger SET seq = 5 WHERE seq = 4; UPDATE audit_ledger SET seq = 4 WHERE seq = -5');
    expect((await tokenimAuth(env, 'audit', 'verify')).code).toBe(0);

    db().prepare('DELETE FROM audit_ledger WHERE seq = 2').run();
    const deleted = await tokenimAuth(env, 'audit', 'verify');
    expect(json(deleted.stdout)).toMatchObject({ ok: false, first_broken: 2 });
    expect(String(json(deleted.stdout).reason)).toContain('missing');
  });
});

describe('audit purge (retention)', () => {
  const dir = makeTempDir('ledger-purge');
  const env = { DATA_DIR: dir.path, LOG_LEVEL: 'silent' };
  afterAll(() => dir.remove());

  it('deletes the old records, records itself, and verify checks the rest from its checkpoint; an unrecorded deletion is caught', async () => {
    const services = await buildServices(loadConfig(env));
    const old = createAuditLog(services.stores.durable.audit, () => new Date('2025-01-01T00:00:00Z'));
    for (let i = 0; i < 3; i += 1) await old.record({ type: 'login.failed', actor, outcome: 'failure', details: { i } });
    for (let i = 0; i < 2; i += 1) await services.audit.record({ type: 'login.succeeded', actor, details: { i } });
    await closeConnections(services.stores.connections);

    const refused = await tokenimAuth(env, 'audit', 'purge', '--before', 'yesterday');
    expect(refused.code).toBe(2);
    const purged = await tokenimAuth(env, 'audit', 'purge', '--before', '2026-01-01');
    expect(json(purged.stdout)).toEqual({ purged: 3 });
    const verified = await tokenimAuth(env, 'audit', 'verify');
    expect(json(verified.stdout)).toMatchObject({ ok: true, records: 3 }); // 2 kept + the purge record

    const reopened = await buildServices(loadConfig(env));
    const db = reopened.stores.sqlite!;
    const purge = db.prepare("SELECT details FROM audit_ledger WHERE type = 'ledger.purged'").get() as { details: string };
    expect(JSON.parse(purge.details)).toMatchObject({ keptFromSeq: 4, records: 3, before: '2026-01-01T00:00:00.000Z' });
    db.prepare('DELETE FROM audit_ledger WHERE seq = 4').run();
    await closeConnections(reopened.stores.connections);
    expect(json((await tokenimAuth(env, 'audit', 'verify')).stdout)).toMatchObject({ ok: false, first_broken: 5 });
  });
});

describe('audit export', () => {
  const dir = makeTempDir('ledger-export');
  const env = { DATA_DIR: dir.path, LOG_LEVEL: 'silent' };
  afterAll(() => dir.remove());

  it('streams every record as JSON Lines (each verifiable on its own) or CSV, from --since on', async () => {
    const services = await buildServices(loadConfig(env));
    const old = createAuditLog(services.stores.durable.audit, () => new Date('2025-06-01T00:00:00Z'));
    await old.record({ type: 'account.registered', actor, subject: 'early' });
    await services.audit.record({ type: 'grant.created', actor, subject: 'p', clientId: 'c', permissions: ['calls:read'],
      details: { note: '=HYPERLINK("http://evil")', quote: 'a "b", c' } });
    await closeConnections(services.stores.connections);

    const jsonl = await tokenimAuth(env, 'audit', 'export');
    expect(jsonl.code).toBe(0);
    const lines = jsonl.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => l.type)).toEqual(['account.registered', 'grant.created']);
    expect(lines[1]).toMatchObject({ seq: 2, clientId: 'c', permissions: ['calls:read'], prevHash: lines[0]!.hash });
    expect(recordHash({ ...lines[1], at: new Date(String(lines[1]!.at)) } as never)).toBe(lines[1]!.hash);

    const csv = await tokenimAuth(env, 'audit', 'export', '--format', 'csv', '--since', '2026-01-01');
    const rows = csv.stdout.split('\r\n');
    expect(rows[0]).toBe('seq,at,type,outcome,actor_kind,actor_id,subject,client_id,permissions,ip,user_agent,request_id,details,id,prev_hash,hash');
    expect(rows).toHaveLength(3); // header, one record, the final empty line
    expect(rows[1]).toMatch(/^2,[^,]+,grant\.created,success,system,test,p,c,calls:read,,,,"\{""note"":""=HYPERLINK/);
    expect(rows[1]).toContain('""quote"":""a \\""b\\"", c""');

    expect((await tokenimAuth(env, 'audit', 'export', '--format', 'xml')).code).toBe(2);
  });
});

describe('the schema upgrade', () => {
  it('links the records written before the chain, in their order', async () => {
    const dir = makeTempDir('ledger-upgrade');
    try {
      const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
      const legacy = new DatabaseSync(sqliteFile(dir.path));
      for (const migration of MIGRATIONS.slice(0, 6)) legacy.exec(migration as string);
      legacy.exec('PRAGMA user_version = 6');
      const insert = legacy.prepare(`INSERT INTO audit_events (id, at, type, actor_kind, actor_id, subject, client_id, ip, outcome, details)
        VALUES (?, ?, ?, 'cli', 'root', ?, NULL, NULL, 'success', '{}')`);
      insert.run('a', Date.UTC(2026, 0, 2), 'account.created', 'x');
      insert.run('b', Date.UTC(2026, 0, 1), 'account.roles_changed', 'x');
      legacy.close();
      const db = openSqliteDatabase(sqliteFile(dir.path));
      const services = { audit: (await import('../../src/storage/sqlite/sqlite-audit.ts')).createSqliteAuditStore(db) };
      // Under today's names; b was stored with an earlier time than a: linking keeps its own in details.
      expect((await services.audit.readAuditChain(1, 10)).map((r) => [r.seq, r.id, r.type, r.at.toISOString(), r.details]))
        .toEqual([[1, 'a', 'account.registered', '2026-01-02T00:00:00.000Z', {}],
          [2, 'b', 'role.changed', '2026-01-02T00:00:00.000Z', { recordedAt: '2026-01-01T00:00:00.000Z' }]]);
      expect(await verifyLedger(services.audit)).toMatchObject({ ok: true, records: 2 });
      db.close();
    } finally {
      dir.remove();
    }
  });
});
