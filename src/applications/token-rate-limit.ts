import type { AuditLog } from '../audit/audit-log.ts';
import type { ApplicationRecord, ApplicationStore, FailureCounterStore } from '../storage/contract.ts';

/** Token requests per minute by application type (config rateLimits.tokenPerMinute); 0: no limit. */
export type TokenRateDefaults = Record<ApplicationRecord['type'], number>;

export interface TokenRateLimits {
  /** Shared by every instance: Redis in Redis mode, the SQLite file in embedded mode. */
  counters: FailureCounterStore;
  defaults: TokenRateDefaults;
}

/** What the limit needs of a client: its type and its own limit (null: its type's), from the provider's client (RATE_LIMIT). */
export interface ClientRateLimit {
  type: ApplicationRecord['type'];
  perMinute: number | null;
}

export interface TokenRateDeps {
  /** The usable client's limit; undefined for an unknown, revoked or disabled one (not counted). */
  findLimit(clientId: string): Promise<ClientRateLimit | undefined>;
  /** The owner, for the ledger's once-a-minute record. */
  applications: Pick<ApplicationStore, 'findApplicationByClientId'>;
  audit: AuditLog;
  tokenRateLimits: TokenRateLimits;
  /** Requests this process may still let through per client and minute without asking the store (see countTokenRequest). */
  leases?: Map<string, number>;
  /** The client minutes this process found over their limit (default: one set per process). */
  overLimit?: Set<string>;
  /** Told when the counters cannot be reached and a request went through uncounted. */
  onUncounted?: (error: unknown) => void;
}

export type TokenRateDecision = { isAllowed: true } | { isAllowed: false; retryAfterSeconds: number; perMinute: number };

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const ALLOWED: TokenRateDecision = { isAllowed: true };
/** At most this share of a limit is taken at once by one process (1/50: a 600/min limit is counted 12 at a time). */
const LEASE_SHARE = 50;

/** The limit that applies: the application's own, else its type's. 0: none. */
export const tokenRateLimitOf = (application: Pick<ApplicationRecord, 'type' | 'tokenRateLimitPerMinute'>, defaults: TokenRateDefaults) =>
  application.tokenRateLimitPerMinute ?? defaults[application.type];

const startOf = (at: number, length: number) => Math.floor(at / length) * length;
const throttledKey = (clientId: string, day: number) => `token-throttled:${clientId}:${day}`;
const processLeases = new Map<string, number>();

/**
 * Counts one token request of the client in the current clock minute and says whether it is within
 * the client's limit. The count is shared by every process and instance (a fixed window: every
 * increment lands on one counter, atomically), but a process takes it in leases: it adds up to
 * 1/50 of the limit to the shared counter at once and lets that many requests through from memory,
 * so a busy client costs one store write per lease, not per request. A lease's unused part is
 * lost at the minute's end: a client can be refused slightly before its limit, never let past it.
 * An unknown, revoked or disabled client is not counted: the provider refuses it (invalid_client),
 * and made-up client ids must not create counters. When the counters cannot be reached (Redis
 * down), the request goes through uncounted: the limit protects capacity, and the token endpoint
 * keeps working for clients that need nothing else of that store.
 */
export async function countTokenRequest(deps: TokenRateDeps, clientId: string, now = Date.now()): Promise<TokenRateDecision> {
  const client = await deps.findLimit(clientId);
  if (!client) return ALLOWED;
  const perMinute = tokenRateLimitOf({ type: client.type, tokenRateLimitPerMinute: client.perMinute }, deps.tokenRateLimits.defaults);
  if (perMinute === 0) return ALLOWED;
  const minute = startOf(now, MINUTE_MS);
  const key = `token-rate:${clientId}:${minute}`;
  const leases = deps.leases ?? processLeases;
  const refused = () => ({ isAllowed: false, retryAfterSeconds: Math.max(1, Math.ceil((minute + MINUTE_MS - now) / 1000)), perMinute }) as const;
  // Refused once this minute: refused from memory until it ends, so a flood costs one store write
  // per request (the day's count), not a lease and a marker as well.
  const overLimit = deps.overLimit ?? processOverLimit;
  if (overLimit.has(key)) {
    await addRefusals(deps, clientId, 1, now);
    return refused();
  }
  for (;;) {
    const left = leases.get(key) ?? 0;
    if (left > 0) {
      leases.set(key, left - 1);
      return ALLOWED;
    }
    // One lease request per client and minute at a time: concurrent requests wait for it rather
    // than each taking a lease of its own (64 at once would take 64 leases).
    let pending = acquiring.get(key);
    if (!pending) {
      pending = takeLease(deps, key, perMinute, minute, leases).finally(() => acquiring.delete(key));
      acquiring.set(key, pending);
    }
    const outcome = await pending;
    if (outcome === 'uncounted') return ALLOWED;
    if (outcome === 'refused') break;
  }
  for (const old of overLimit) if (!old.endsWith(`:${minute}`)) overLimit.delete(old);
  overLimit.add(key);
  await recordThrottled(deps, clientId, perMinute, minute, now);
  return refused();
}

/** Per process: the client minutes already over their limit. */
const processOverLimit = new Set<string>();

async function addRefusals(deps: TokenRateDeps, clientId: string, count: number, now: number): Promise<void> {
  const day = startOf(now, DAY_MS);
  await deps.tokenRateLimits.counters.incrementFailureCount(throttledKey(clientId, day), count, day + 2 * DAY_MS)
    .catch((error: unknown) => deps.onUncounted?.(error));
}

const acquiring = new Map<string, Promise<'leased' | 'refused' | 'uncounted'>>();

/** Adds a lease to the shared count; what falls within the limit becomes this process's to let through. */
async function takeLease(deps: TokenRateDeps, key: string, perMinute: number, minute: number, leases: Map<string, number>) {
  const lease = Math.max(1, Math.floor(perMinute / LEASE_SHARE));
  let points: number;
  try {
    ({ points } = await deps.tokenRateLimits.counters.incrementFailureCount(key, lease, minute + MINUTE_MS));
  } catch (error) {
    deps.onUncounted?.(error);
    return 'uncounted';
  }
  const granted = Math.min(lease, perMinute - (points - lease));
  if (granted <= 0) return 'refused';
  // Leases of finished minutes go.
  for (const old of leases.keys()) if (!old.endsWith(`:${minute}`)) leases.delete(old);
  leases.set(key, (leases.get(key) ?? 0) + granted);
  return 'leased';
}

/**
 * A refused request: the day's count shown on /developers, and the one `client.throttled` record of
 * the client's minute, whichever process or instance refuses first (a marker counted atomically).
 */
async function recordThrottled(deps: TokenRateDeps, clientId: string, perMinute: number, minute: number, now: number) {
  const { counters } = deps.tokenRateLimits;
  await addRefusals(deps, clientId, 1, now);
  try {
    const { points: marks } = await counters.incrementFailureCount(`token-throttled-minute:${clientId}:${minute}`, 1, minute + MINUTE_MS);
    if (marks !== 1) return;
  } catch (error) {
    deps.onUncounted?.(error);
    return;
  }
  const application = await deps.applications.findApplicationByClientId(clientId);
  await deps.audit.record({
    type: 'client.throttled', actor: { kind: 'client', id: clientId }, subject: application?.ownerId ?? null, clientId, outcome: 'failure',
    details: { perMinute, minute: new Date(minute).toISOString() },
  });
}

/** Token requests of the client refused today (UTC), at every instance: one counter read. */
export async function countThrottledToday(limits: TokenRateLimits, clientId: string, now = Date.now()): Promise<number> {
  return (await limits.counters.findFailureCount(throttledKey(clientId, startOf(now, DAY_MS))))?.points ?? 0;
}

/** What the application pages show of the limit (/developers and the admin console). */
export interface TokenRateSummary {
  /** The limit in force; 0: none. */
  perMinute: number;
  /** The default of its type: the limit when `isTypeDefault`. */
  typeDefault: number;
  isTypeDefault: boolean;
  throttledToday: number;
}

export async function summarizeTokenRate(limits: TokenRateLimits, application: ApplicationRecord): Promise<TokenRateSummary> {
  return {
    perMinute: tokenRateLimitOf(application, limits.defaults),
    typeDefault: limits.defaults[application.type],
    isTypeDefault: application.tokenRateLimitPerMinute === null,
    throttledToday: await countThrottledToday(limits, application.clientId),
  };
}
