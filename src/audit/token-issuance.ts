import type { AuditLog } from './audit-log.ts';

/** What oidc-provider's `client_credentials.issued` / `.saved` events pass: the token issued. */
interface IssuedToken {
  clientId?: string;
  scope?: string;
}

export interface TokenIssuanceLedger {
  /** Counts a token in memory: no I/O on the token endpoint's path. */
  noteIssued(token: IssuedToken, at?: Date): void;
  /** Records one `token.issued` per client per minute counted so far (all minutes with `all`, at shutdown; else the finished ones). */
  flush(all?: boolean): Promise<void>;
}

const minuteOf = (at: Date) => Math.floor(at.getTime() / 60_000) * 60_000;

/**
 * Tokens issued by client credentials, in the ledger one event per client per minute (with the
 * count and every permission issued in it) rather than one per token: a service asking for a token
 * per request would otherwise write the ledger at the token endpoint's rate. Other grants are
 * recorded per grant (grant.created / updated). A crash loses at most the current minute's counts.
 */
export function createTokenIssuanceLedger(audit: AuditLog): TokenIssuanceLedger {
  let counts = new Map<string, { clientId: string; minute: number; count: number; scopes: Set<string> }>();
  return {
    noteIssued({ clientId, scope }, at = new Date()) {
      if (!clientId) return;
      const minute = minuteOf(at);
      const key = `${clientId}\u0000${minute}`;
      const entry = counts.get(key) ?? { clientId, minute, count: 0, scopes: new Set<string>() };
      entry.count += 1;
      for (const s of scope?.split(' ') ?? []) if (s) entry.scopes.add(s);
      counts.set(key, entry);
    },
    async flush(all = false) {
      const now = minuteOf(new Date());
      const due = [...counts].filter(([, entry]) => all || entry.minute < now);
      for (const [key] of due) counts.delete(key);
      const results = await Promise.allSettled(due.map(([, { clientId, minute, count, scopes }]) => audit.record({
        type: 'token.issued', actor: { kind: 'client', id: clientId }, clientId, permissions: [...scopes],
        details: { grantType: 'client_credentials', count, minute: new Date(minute).toISOString() },
      })));
      // Not recorded: counted again for the next flush.
      results.forEach((result, i) => {
        const [key, entry] = due[i]!;
        if (result.status === 'rejected') counts.set(key, entry);
      });
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
    },
  };
}

