import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { AuditEventRecord, AuditStore } from '../contract.ts';

interface AuditRow {
  id: string;
  at: number;
  type: string;
  actor_kind: AuditEventRecord['actor']['kind'];
  actor_id: string | null;
  subject: string | null;
  client_id: string | null;
  ip: string | null;
  outcome: AuditEventRecord['outcome'];
  details: string;
}

const toEvent = (row: AuditRow): AuditEventRecord => ({
  id: row.id,
  at: new Date(row.at),
  type: row.type,
  actor: { kind: row.actor_kind, id: row.actor_id },
  subject: row.subject,
  clientId: row.client_id,
  ip: row.ip,
  outcome: row.outcome,
  details: JSON.parse(row.details) as Record<string, unknown>,
});

export function createSqliteAuditStore(db: DatabaseSync): AuditStore {
  const insert = db.prepare(`INSERT INTO audit_events
    (id, at, type, actor_kind, actor_id, subject, client_id, ip, outcome, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);

  return {
    async appendAuditEvent(event) {
      insert.run(event.id, event.at.getTime(), event.type, event.actor.kind, event.actor.id, event.subject,
        event.clientId, event.ip, event.outcome, JSON.stringify(event.details));
    },
    async listAuditEvents(query) {
      const where: string[] = [];
      const params: SQLInputValue[] = [];
      if (query.since) { where.push('at >= ?'); params.push(query.since.getTime()); }
      if (query.type) { where.push('type = ?'); params.push(query.type); }
      if (query.subject) { where.push('subject = ?'); params.push(query.subject); }
      const sql = `SELECT * FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at, seq LIMIT ?`;
      return (db.prepare(sql).all(...params, query.limit) as unknown as AuditRow[]).map(toEvent);
    },
  };
}
