import type { AuditEventRecord, AuditFilter, AuditStore } from '../storage/contract.ts';

export type ExportFormat = 'jsonl' | 'csv';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['jsonl', 'csv'];

const PAGE = 500;

/** A record as exported: every field, so that anyone holding the export can recompute the chain. */
export const exportedRecord = (record: AuditEventRecord) => ({ ...record, at: record.at.toISOString() });

const CSV_COLUMNS = ['seq', 'at', 'type', 'outcome', 'actor_kind', 'actor_id', 'subject', 'client_id', 'permissions', 'ip', 'user_agent',
  'request_id', 'details', 'id', 'prev_hash', 'hash'] as const;

/**
 * One CSV field (RFC 4180): quoted when it holds a quote, comma or line break. A field a
 * spreadsheet would run as a formula (= + - @, tab, CR) is prefixed with an apostrophe (OWASP CSV injection).
 */
function csvField(value: string | number | null): string {
  let text = value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(record: AuditEventRecord): string {
  const values = [record.seq, record.at.toISOString(), record.type, record.outcome, record.actor.kind, record.actor.id, record.subject,
    record.clientId, record.permissions.join(' '), record.ip, record.userAgent, record.requestId, JSON.stringify(record.details),
    record.id, record.prevHash, record.hash];
  return `${values.map(csvField).join(',')}\r\n`;
}

/** Ledger records matching `select`, oldest first, page by page from the store. */
async function* recordsSince(store: AuditStore, since: Date | undefined, select: (record: AuditEventRecord) => boolean) {
  let fromSeq = since ? await store.firstAuditSeqSince(since) : 1;
  while (fromSeq !== undefined) {
    const page = await store.readAuditChain(fromSeq, PAGE);
    for (const record of page) if (select(record)) yield record;
    fromSeq = page.length === PAGE ? page.at(-1)!.seq + 1 : undefined;
  }
}

/**
 * The ledger as lines of JSON or CSV, oldest first, produced a page at a time (streamed, never
 * the whole ledger in memory): `audit export` writes them to stdout, the console streams them.
 */
export async function* exportLedger(store: AuditStore, options: { format: ExportFormat; since?: Date | undefined;
  select?: (record: AuditEventRecord) => boolean }): AsyncGenerator<string> {
  if (options.format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
  for await (const record of recordsSince(store, options.since, options.select ?? (() => true))) {
    yield options.format === 'csv' ? csvLine(record) : `${JSON.stringify(exportedRecord(record))}\n`;
  }
}

/** What the console's ledger shows, as lines, newest first like the table: the filter's results page by page. */
export async function* exportFiltered(store: AuditStore, filter: Omit<AuditFilter, 'limit' | 'beforeSeq'>, format: ExportFormat) {
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
  for (let beforeSeq: number | undefined; ;) {
    const page = await store.queryAuditEvents({ ...filter, beforeSeq, limit: PAGE });
    for (const record of page) yield format === 'csv' ? csvLine(record) : `${JSON.stringify(exportedRecord(record))}\n`;
    if (page.length < PAGE) return;
    beforeSeq = page.at(-1)!.seq;
  }
}
