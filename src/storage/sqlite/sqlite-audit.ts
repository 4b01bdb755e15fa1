import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { AuditChainHead, AuditEventRecord, AuditFilter, AuditStore } from '../contract.ts';

// The ledger table (schema v7, open-sqlite.ts). `seq` is the rowid: a record is linked and stored
// in one short write transaction (read the head, insert after it), so the chain has one order
// across every process sharing the file. bench/ledger.ts measured this against batching.

interface AuditRow {
  seq: number;
  id: string;
  at: number;
  type: string;
  actor_kind: AuditEventRecord['actor']['kind'];
  actor_id: string | null;
  subject: string | null;
  client_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  outcome: AuditEventRecord['outcome'];
  permissions: string;
  details: string;
  prev_hash: string;
  hash: string;
}

const toEvent = (row: AuditRow): AuditEventRecord => ({
  seq: row.seq,
  id: row.id,
  at: new Date(row.at),
  type: row.type,
  actor: { kind: row.actor_kind, id: row.actor_id },
  subject: row.subject,
  clientId: row.client_id,
  ip: row.ip,
  userAgent: row.user_agent,
  requestId: row.request_id,
  outcome: row.outcome,
  permissions: JSON.parse(row.permissions) as string[],
  details: JSON.parse(row.details) as Record<string, unknown>,
  prevHash: row.prev_hash,
  hash: row.hash,
});

const COLUMNS = 'seq, id, at, type, actor_kind, actor_id, subject, client_id, ip, user_agent, request_id, outcome, permissions, details, prev_hash, hash';

/** Inserts one linked record and its permission rows; inside the caller's transaction. */
export function prepareLedgerInsert(db: DatabaseSync, table = 'audit_ledger') {
  const insert = db.prepare(`INSERT INTO ${table} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const permission = db.prepare(`INSERT INTO ${table}_permissions (permission, seq) VALUES (?, ?)`);
  return (record: AuditEventRecord) => {
    insert.run(record.seq, record.id, record.at.getTime(), record.type, record.actor.kind, record.actor.id, record.subject,
      record.clientId, record.ip, record.userAgent, record.requestId, record.outcome, JSON.stringify(record.permissions),
      JSON.stringify(record.details), record.prevHash, record.hash);
    for (const scope of record.permissions) permission.run(scope, record.seq);
  };
}

/**
 * The query of a filter, newest first. Every column it names leads an index (…, seq), and a time
 * range has become a seq range. A permission alone (or with a type or outcome, which many records
 * share) drives the query by the permission rows (primary key permission, seq); with a person or an
 * application, whose few records come first by their own index, it is checked per record instead.
 */
function queryOf(filter: Omit<AuditFilter, 'limit' | 'since' | 'until'>, seqBounds: { from?: number; to?: number }) {
  const selective = filter.subject !== undefined || filter.actorId !== undefined || filter.clientId !== undefined;
  const byPermission = filter.permission !== undefined && !selective;
  const seq = byPermission ? 'p.seq' : 'e.seq';
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  const equal = (column: string, value: string | undefined) => {
    if (value !== undefined) { where.push(`${column} = ?`); params.push(value); }
  };
  if (byPermission) equal('p.permission', filter.permission);
  else if (filter.permission !== undefined) {
    where.push('EXISTS (SELECT 1 FROM audit_ledger_permissions p WHERE p.permission = ? AND p.seq = e.seq)');
    params.push(filter.permission);
  }
  equal('e.actor_id', filter.actorId);
  equal('e.subject', filter.subject);
  equal('e.client_id', filter.clientId);
  equal('e.type', filter.type);
  equal('e.outcome', filter.outcome);
  const upper = Math.min(filter.beforeSeq ?? Infinity, (seqBounds.to ?? Infinity) + 1);
  if (upper !== Infinity) { where.push(`${seq} < ?`); params.push(upper); }
  if (seqBounds.from !== undefined) { where.push(`${seq} >= ?`); params.push(seqBounds.from); }
  const from = byPermission ? 'audit_ledger_permissions p JOIN audit_ledger e ON e.seq = p.seq' : 'audit_ledger e';
  const columns = COLUMNS.split(', ').map((column) => `e.${column}`).join(', ');
  const sql = `SELECT ${columns} FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${seq} DESC LIMIT ?`;
  return { sql, params };
}

export function createSqliteAuditStore(db: DatabaseSync): AuditStore {
  const head = db.prepare('SELECT seq, hash, at FROM audit_ledger ORDER BY seq DESC LIMIT 1');
  const insert = prepareLedgerInsert(db);
  // Time order is seq order (linkRecord never moves time back), so a time range is a seq range.
  const firstAtOrAfter = db.prepare('SELECT seq FROM audit_ledger WHERE at >= ? ORDER BY at, seq LIMIT 1');
  const lastAtOrBefore = db.prepare('SELECT seq FROM audit_ledger WHERE at <= ? ORDER BY at DESC, seq DESC LIMIT 1');
  const chain = db.prepare(`SELECT ${COLUMNS} FROM audit_ledger WHERE seq >= ? ORDER BY seq LIMIT ?`);

  /** The seq range of a time range; undefined when no record falls in it. */
  function seqRange(since: Date | undefined, until: Date | undefined): { from?: number; to?: number } | undefined {
    const range: { from?: number; to?: number } = {};
    if (since) {
      const row = firstAtOrAfter.get(since.getTime()) as { seq: number } | undefined;
      if (!row) return undefined;
      range.from = row.seq;
    }
    if (until) {
      const row = lastAtOrBefore.get(until.getTime()) as { seq: number } | undefined;
      if (!row) return undefined;
      range.to = row.seq;
    }
    return range.from !== undefined && range.to !== undefined && range.from > range.to ? undefined : range;
  }

  return {
    async appendAuditEvent(link) {
      db.exec('BEGIN IMMEDIATE');
      try {
        const row = head.get() as { seq: number; hash: string; at: number } | undefined;
        const current: AuditChainHead | undefined = row && { seq: row.seq, hash: row.hash, at: new Date(row.at) };
        const record = link(current);
        insert(record);
        db.exec('COMMIT');
        return record;
      } catch (error) {
        if (db.isTransaction) db.exec('ROLLBACK');
        throw error;
      }
    },
    async listAuditEvents(query) {
      const where: string[] = [];
      const params: SQLInputValue[] = [];
      if (query.since) { where.push('at >= ?'); params.push(query.since.getTime()); }
      if (query.type) { where.push('type = ?'); params.push(query.type); }
      if (query.subject) { where.push('subject = ?'); params.push(query.subject); }
      const sql = `SELECT ${COLUMNS} FROM audit_ledger ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ?`;
      return (db.prepare(sql).all(...params, query.limit) as unknown as AuditRow[]).map(toEvent);
    },
    async queryAuditEvents({ limit, since, until, ...filter }) {
      const range = seqRange(since, until);
      if (!range) return [];
      const { sql, params } = queryOf(filter, range);
      const rows = db.prepare(sql).all(...params, limit);
      return (rows as unknown as AuditRow[]).map(toEvent);
    },
    async firstAuditSeqSince(at) {
      return (firstAtOrAfter.get(at.getTime()) as { seq: number } | undefined)?.seq;
    },
    async readAuditChain(fromSeq, limit) {
      return (chain.all(fromSeq, limit) as unknown as AuditRow[]).map(toEvent);
    },
    async purgeAuditEventsBefore(seq) {
      db.exec('BEGIN IMMEDIATE');
      try {
        db.prepare('DELETE FROM audit_ledger_permissions WHERE seq < ?').run(seq);
        const { changes } = db.prepare('DELETE FROM audit_ledger WHERE seq < ?').run(seq);
        db.exec('COMMIT');
        return Number(changes);
      } catch (error) {
        if (db.isTransaction) db.exec('ROLLBACK');
        throw error;
      }
    },
  };
}
