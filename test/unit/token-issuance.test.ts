// Tokens by client credentials reach the ledger once per client per minute (issue 11 item 2).
import { describe, expect, it } from '@jest/globals';
import { createTokenIssuanceLedger } from '../../src/audit/token-issuance.ts';
import type { AuditEvent, AuditLog } from '../../src/audit/audit-log.ts';

function recordingLog() {
  const events: AuditEvent[] = [];
  const audit = { record: async (event: AuditEvent) => { events.push(event); return {} as never; } } as AuditLog;
  return { audit, events };
}

const minute = (n: number) => new Date(Date.UTC(2026, 0, 1, 10, n, 30));

describe('token issuance in the ledger', () => {
  it('counts per client per minute, with every permission issued, and writes finished minutes only', async () => {
    const { audit, events } = recordingLog();
    const ledger = createTokenIssuanceLedger(audit);
    ledger.noteIssued({ clientId: 'bot', scope: 'message:send' }, minute(1));
    ledger.noteIssued({ clientId: 'bot', scope: 'message:read message:send' }, minute(1));
    ledger.noteIssued({ clientId: 'bot', scope: 'message:send' }, minute(2));
    ledger.noteIssued({ clientId: 'crm', scope: 'contacts:read' }, minute(1));
    ledger.noteIssued({ clientId: 'now', scope: 'message:send' });
    await ledger.flush();
    expect(events.map((e) => [e.clientId, e.details, [...(e.permissions ?? [])].sort()])).toEqual([
      ['bot', { grantType: 'client_credentials', count: 2, minute: '2026-01-01T10:01:00.000Z' }, ['message:read', 'message:send']],
      ['bot', { grantType: 'client_credentials', count: 1, minute: '2026-01-01T10:02:00.000Z' }, ['message:send']],
      ['crm', { grantType: 'client_credentials', count: 1, minute: '2026-01-01T10:01:00.000Z' }, ['contacts:read']],
    ]);
    expect(events.every((e) => e.type === 'token.issued' && e.actor.kind === 'client' && e.actor.id === e.clientId)).toBe(true);
    await ledger.flush();
    expect(events).toHaveLength(3); // the current minute waits
    await ledger.flush(true);
    expect(events.at(-1)).toMatchObject({ clientId: 'now', details: { count: 1 } });
  });

  it('keeps a count whose write failed for the next flush', async () => {
    const events: AuditEvent[] = [];
    let fail = true;
    const audit = { record: async (event: AuditEvent) => {
      if (fail) throw new Error('store down');
      events.push(event);
      return {} as never;
    } } as AuditLog;
    const ledger = createTokenIssuanceLedger(audit);
    ledger.noteIssued({ clientId: 'bot', scope: 'message:send' }, minute(1));
    await expect(ledger.flush()).rejects.toThrow('store down');
    fail = false;
    await ledger.flush();
    expect(events).toHaveLength(1);
  });
});
