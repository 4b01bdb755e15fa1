import type Router from '@koa/router';
import type { Context } from 'koa';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { AuditEventRecord, AuditStore } from '../storage/contract.ts';
import type { Locale } from '../permissions/catalog.ts';
import { AUDIT_EVENT_TYPES } from '../audit/audit-events.ts';
import { findAccountsByIds } from '../accounts/account-rules.ts';
import { ledgerFilter, NOTHING, type LedgerSearch } from '../audit/ledger-query.ts';
import { exportFiltered, type ExportFormat } from '../audit/ledger-export.ts';
import type { AdminGuards, AdminRouteDeps } from './admin-routes.ts';
import { formatDate } from './developer-view-models.ts';
import { CONSOLE_PAGE_READ, consolePage } from '../shared/console-page.ts';

const text = z.string().max(320).optional().catch(undefined);
const searchQuery = z.object({
  q: text, person: text, actor: text, client: text, permission: text, type: text, outcome: text, since: text, until: text,
  before: z.coerce.number().int().positive().optional().catch(undefined),
});

const FORMATS: Record<string, { format: ExportFormat; type: string }> = {
  csv: { format: 'csv', type: 'text/csv; charset=utf-8' },
  jsonl: { format: 'jsonl', type: 'application/x-ndjson; charset=utf-8' },
};

/** The search as it goes back into links (next page, export), without empty fields. */
const searchParams = (search: LedgerSearch) =>
  new URLSearchParams(Object.entries(search).filter((entry): entry is [string, string] => Boolean(entry[1])));

/** The Ledger area of the console (/admin/audit): read by the auditor and the admin. */
export function registerAdminAuditRoutes(router: Router, deps: AdminRouteDeps, guards: AdminGuards) {
  const store: AuditStore = deps.ledger;
  const { accounts } = deps.flows;

  const emailsOf = async (records: AuditEventRecord[]) => new Map([...await findAccountsByIds(accounts,
    records.flatMap((r) => [r.subject, r.actor.kind === 'account' ? r.actor.id : null]))].map(([id, account]) => [id, account.email]));

  router.get('/audit', ...guards.readPage, async (ctx: Context) => {
    const { before, ...search } = searchQuery.parse(ctx.query);
    const locale = ctx.state.locale as Locale;
    const filter = await ledgerFilter({ accounts, catalog: deps.catalog }, search);
    const found = filter === NOTHING ? [] : await store.queryAuditEvents({ ...filter, beforeSeq: before, limit: CONSOLE_PAGE_READ });
    const { shown: records, next: nextSeq } = consolePage(found, (last) => last.seq);
    const emails = await emailsOf(records);
    const params = searchParams(search);
    const next = nextSeq === undefined ? null : `?${new URLSearchParams([...params, ['before', String(nextSeq)]])}`;
    deps.renderer.page(ctx, 'admin-audit', {
      area: 'audit', consoleAccess: ctx.state.consoleAccess, search, types: AUDIT_EVENT_TYPES, permissions: deps.catalog.apiScopes,
      rows: records.map((r) => ({
        seq: r.seq, type: r.type, outcome: r.outcome, at: formatDate(r.at, locale), iso: r.at.toISOString(),
        actor: r.actor.kind === 'account' && r.actor.id ? emails.get(r.actor.id) ?? r.actor.id : `${r.actor.kind}${r.actor.id ? `:${r.actor.id}` : ''}`,
        subject: r.subject ? emails.get(r.subject) ?? r.subject : '', clientId: r.clientId ?? '', permissions: r.permissions,
        ip: r.ip ?? '', requestId: r.requestId ?? '', details: Object.keys(r.details).length ? JSON.stringify(r.details) : '',
      })),
      next, exportQuery: params.toString(), switchHref: `?${new URLSearchParams([...params, ['ui_locales', locale === 'en' ? 'zh-CN' : 'en']])}`,
    });
  });

  // The filtered ledger as a file, streamed page by page from the store (never built in memory).
  router.get('/audit/export.:format', ...guards.readPage, async (ctx: Context) => {
    const chosen = FORMATS[String(ctx.params.format)];
    if (!chosen) return;
    const { before: _before, ...search } = searchQuery.parse(ctx.query);
    const filter = await ledgerFilter({ accounts, catalog: deps.catalog }, search);
    ctx.type = chosen.type;
    ctx.set('Content-Disposition', `attachment; filename="tokenim-ledger.${chosen.format}"`);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = Readable.from(filter === NOTHING ? [] : exportFiltered(store, filter, chosen.format));
  });
}
