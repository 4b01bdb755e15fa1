import type { Services } from '../services.ts';
import { verifyLedger } from '../audit/ledger-verify.ts';
import { EXPORT_FORMATS, exportLedger, type ExportFormat } from '../audit/ledger-export.ts';
import { purgeLedger } from '../audit/ledger-retention.ts';
import { cliActor, FailedResult, LineOutput, str, UsageError, type Command, type Options } from './command.ts';

/** An ISO 8601 time option (`--since`, `--before`). */
function isoTime(options: Options, name: string): Date | undefined {
  const raw = str(options, name);
  if (raw === undefined) return undefined;
  const at = /^\d{4}-\d{2}-\d{2}/.test(raw) ? new Date(raw) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) throw new UsageError(`--${name} takes an ISO 8601 date or time, like 2026-01-31 or 2026-01-31T12:00:00Z (got "${raw}")`);
  return at;
}

const ledgerStore = (services: Services) => services.stores.durable.audit;

export const AUDIT_COMMANDS: Record<string, Command> = {
  'audit verify': {
    summary: 'check the ledger\'s hash chain; names the first record that was edited, deleted or reordered',
    options: {},
    required: [],
    async run(services) {
      const verification = await verifyLedger(ledgerStore(services));
      return verification.ok ? verification : new FailedResult(verification);
    },
  },
  'audit export': {
    summary: 'write the ledger to stdout, oldest first, as JSON Lines or CSV',
    options: {
      since: { type: 'string', value: 'ISO-8601', help: 'only records from this time on' },
      format: { type: 'string', choices: EXPORT_FORMATS, value: 'jsonl|csv', help: 'jsonl (the default) or csv' },
    },
    required: [],
    async run(services, options) {
      const format = (str(options, 'format') ?? 'jsonl') as ExportFormat;
      return new LineOutput(exportLedger(ledgerStore(services), { format, since: isoTime(options, 'since') }));
    },
  },
  'audit purge': {
    summary: 'retention: delete the records before a time; the purge is itself recorded and verify starts from its checkpoint',
    options: { before: { type: 'string', value: 'ISO-8601', help: 'delete the records older than this' } },
    required: ['before'],
    async run(services, options) {
      const before = isoTime(options, 'before')!;
      if (before.getTime() > Date.now()) throw new UsageError('--before must not be in the future');
      return purgeLedger({ audit: services.audit, store: ledgerStore(services) }, before, cliActor());
    },
  },
};
