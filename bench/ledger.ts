// Issue 11, items 3 and the acceptance: the ledger on SQLite.
// 1. Appends per second, one process alone (the baseline) and two processes writing the same file at
//    once, each record linked in its own short transaction (the design in use), and, for the choice,
//    the other design measured the same way: records queued in memory and linked in batches.
// 2. Filtered queries on 1,000,000 synthetic records: by person, by permission, by type and time
//    range (newest first, 50 a page, then the next page by cursor); p50/p95 against the unfiltered
//    newest page as the baseline. Target: p95 under 200 ms.
// Usage: node bench/ledger.ts [--records 1000000 --seconds 5 --queries 200]
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createSqliteStores } from '../src/storage/sqlite/create-sqlite-stores.ts';
import { prepareLedgerInsert } from '../src/storage/sqlite/sqlite-audit.ts';
import { createAuditLog } from '../src/audit/audit-log.ts';
import { linkRecord } from '../src/audit/ledger-chain.ts';
import { verifyLedger } from '../src/audit/ledger-verify.ts';
import type { AuditEventRecord, AuditFilter } from '../src/storage/contract.ts';
import { makeTempDir } from '../test/helpers/temp-dir.ts';

const { values } = parseArgs({ options: {
  records: { type: 'string', default: '1000000' }, seconds: { type: 'string', default: '5' }, queries: { type: 'string', default: '200' },
  writer: { type: 'string' }, design: { type: 'string' }, until: { type: 'string' } } });

const event = (i: number) => ({ type: 'login.succeeded' as const, actor: { kind: 'account' as const, id: `person-${i % 10_000}` },
  subject: `person-${i % 10_000}`, clientId: `client-${i % 200}`, permissions: i % 3 ? [] : ['message:send'], details: { i } });

/** A writer process: appends until `until` (epoch ms) with the chosen design; prints how many. */
async function writer(file: string, design: string, until: number) {
  const stores = createSqliteStores(file);
  const audit = createAuditLog(stores.audit);
  let count = 0;
  if (design === 'per-append') {
    while (Date.now() < until) {
      await audit.record(event(count));
      count += 1;
    }
  } else {
    // The alternative: a sequencer linking what was queued, one transaction per batch of up to 256.
    const insert = prepareLedgerInsert(stores.db);
    const head = stores.db.prepare('SELECT seq, hash, at FROM audit_ledger ORDER BY seq DESC LIMIT 1');
    while (Date.now() < until) {
      const batch = Array.from({ length: 256 }, (_, k) => event(count + k));
      await new Promise((resolve) => setImmediate(resolve));
      try {
        stores.db.exec('BEGIN IMMEDIATE');
      } catch {
        continue; // the other process holds the lock: try again on the next turn
      }
      const row = head.get() as { seq: number; hash: string; at: number } | undefined;
      let last = row && { seq: row.seq, hash: row.hash, at: new Date(row.at) };
      for (const fields of batch) {
        const record: AuditEventRecord = linkRecord({ id: randomUUID(), at: new Date(), ip: null, userAgent: null, requestId: null,
          outcome: 'success', ...fields }, last);
        insert(record);
        last = record;
      }
      stores.db.exec('COMMIT');
      count += batch.length;
    }
  }
  await stores.connection.close();
  process.send!({ count });
}

async function appendsPerSecond(design: string, processes: number, seconds: number) {
  const dir = makeTempDir(`bench-ledger-${design}-${processes}`);
  const file = `${dir.path}/ledger.sqlite`;
  createSqliteStores(file).db.close(); // the schema, before the writers race for it
  const until = Date.now() + 500 + seconds * 1000;
  const self = fileURLToPath(import.meta.url);
  const counts = await Promise.all(Array.from({ length: processes }, () => new Promise<number>((resolve, reject) => {
    const child = fork(self, ['--writer', file, '--design', design, '--until', String(until)]);
    child.on('message', (message: { count: number }) => resolve(message.count));
    child.on('error', reject);
  })));
  const stores = createSqliteStores(file);
  const verified = await verifyLedger(stores.audit);
  await stores.connection.close();
  dir.remove();
  return { design, processes, appendsPerSecond: Math.round(counts.reduce((a, b) => a + b, 0) / seconds), perProcess: counts.map((c) => Math.round(c / seconds)),
    chainVerified: verified.ok };
}

function percentile(sorted: number[], p: number) {
  return Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(2));
}

async function queries(records: number, count: number) {
  const dir = makeTempDir('bench-ledger-queries');
  const stores = createSqliteStores(`${dir.path}/ledger.sqlite`);
  const insert = prepareLedgerInsert(stores.db);
  const types = ['login.succeeded', 'login.succeeded', 'login.succeeded', 'login.failed', 'grant.created', 'token.issued', 'grant.revoked',
    'role.changed', 'mfa.failed', 'client.updated'] as const;
  const scopes = ['message:send', 'message:read', 'calls:read', 'contacts:read', 'audit:read'];
  const start = Date.UTC(2026, 0, 1);
  const span = 365 * 86_400_000;
  const filled = performance.now();
  let last: AuditEventRecord | undefined;
  stores.db.exec('BEGIN');
  for (let i = 0; i < records; i += 1) {
    const type = types[i % types.length]!;
    const withPermissions = type.startsWith('grant') || type === 'token.issued';
    last = linkRecord({
      id: randomUUID(), at: new Date(start + Math.floor((i / records) * span)), type,
      actor: { kind: 'account', id: `person-${(i * 7919) % 10_000}` }, subject: `person-${(i * 7919) % 10_000}`,
      clientId: withPermissions ? `client-${i % 300}` : null, ip: '10.0.0.1', userAgent: 'bench', requestId: randomUUID(),
      outcome: type.endsWith('failed') ? 'failure' : 'success',
      permissions: withPermissions ? [scopes[i % 5]!, scopes[(i + 1) % 5]!] : [], details: { i },
    }, last);
    insert(last);
    if (i % 50_000 === 49_999) { stores.db.exec('COMMIT'); stores.db.exec('BEGIN'); }
  }
  stores.db.exec('COMMIT');
  const fillSeconds = Number(((performance.now() - filled) / 1000).toFixed(1));

  const random = (n: number) => Math.floor(Math.random() * n);
  const kinds: Record<string, () => Omit<AuditFilter, 'limit'>> = {
    'baseline: newest page, no filter': () => ({}),
    'by person': () => ({ subject: `person-${random(10_000)}` }),
    'by permission': () => ({ permission: scopes[random(5)]! }),
    'by permission and application': () => ({ permission: scopes[random(5)]!, clientId: `client-${random(300)}` }),
    'by type and 7-day time range': () => {
      const from = start + random(358) * 86_400_000;
      return { type: types[random(types.length)]!, since: new Date(from), until: new Date(from + 7 * 86_400_000) };
    },
    'by outcome and 1-day time range': () => {
      const from = start + random(364) * 86_400_000;
      return { outcome: 'failure', since: new Date(from), until: new Date(from + 86_400_000) };
    },
  };
  const results = [];
  for (const [kind, filter] of Object.entries(kinds)) {
    const times: number[] = [];
    for (let q = 0; q < count; q += 1) {
      const chosen = filter();
      const began = performance.now();
      const page = await stores.audit.queryAuditEvents({ ...chosen, limit: 50 });
      if (page.length === 50) await stores.audit.queryAuditEvents({ ...chosen, beforeSeq: page.at(-1)!.seq, limit: 50 });
      times.push(performance.now() - began);
    }
    times.sort((a, b) => a - b);
    results.push({ query: `${kind} (first page + next page)`, p50Ms: percentile(times, 50), p95Ms: percentile(times, 95), maxMs: percentile(times, 100) });
  }
  await stores.connection.close();
  dir.remove();
  return { records, fillSeconds, queries: results };
}

if (values.writer) {
  await writer(values.writer, values.design!, Number(values.until));
} else {
  const seconds = Number(values.seconds);
  const appends = [];
  for (const design of ['per-append', 'batched']) {
    appends.push(await appendsPerSecond(design, 1, seconds));
    appends.push(await appendsPerSecond(design, 2, seconds));
  }
  const queried = await queries(Number(values.records), Number(values.queries));
  const slowest = Math.max(...queried.queries.map((q) => q.p95Ms));
  process.stdout.write(`${JSON.stringify({ node: process.version, appends, ...queried, p95UnderTwoHundredMs: slowest < 200 }, null, 2)}\n`);
  if (slowest >= 200) process.exitCode = 1;
}
