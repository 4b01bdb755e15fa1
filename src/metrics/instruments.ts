import { Counter, Histogram, Registry } from 'prom-client';

/**
 * The series this process exposes on /metrics (Prometheus text format), in one registry of its own
 * (not prom-client's global one, which a dependency could also write to). Defining a metric does no
 * I/O and starts no timer; process metrics are added by installProcessMetrics (process-metrics.ts).
 *
 * Labels are bounded sets only — route templates, grant and client types, outcomes, store names,
 * ledger event types — never an id, an email or a token: a series per value would grow without end
 * (Prometheus naming and instrumentation guidelines, "Do not overuse labels").
 */
export const registry = new Registry();

// Few buckets: each is one more series per label set. From a JWKS answer (~1 ms) to an argon2id
// sign-in (~50 ms) to a store that stalls (seconds).
const REQUEST_BUCKETS = [0.005, 0.02, 0.05, 0.1, 0.25, 1, 5];
const STORE_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.5, 2.5];

export const httpRequests = new Counter({
  name: 'tokenim_http_requests_total',
  help: 'HTTP requests answered, by method, route template and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

export const httpRequestDuration = new Histogram({
  name: 'tokenim_http_request_duration_seconds',
  help: 'Time from the request reaching the server to its answer, by method and route template.',
  labelNames: ['method', 'route'] as const,
  buckets: REQUEST_BUCKETS,
  registers: [registry],
});

export const throttledRequests = new Counter({
  name: 'tokenim_throttled_requests_total',
  help: 'Requests refused with 429 Too Many Requests, by route template.',
  labelNames: ['route'] as const,
  registers: [registry],
});

export const tokensIssued = new Counter({
  name: 'tokenim_tokens_issued_total',
  help: 'Successful token endpoint responses, by grant type and client type (RFC 6749 §2.1: confidential or public).',
  labelNames: ['grant_type', 'client_type'] as const,
  registers: [registry],
});

export const signIns = new Counter({
  name: 'tokenim_sign_ins_total',
  help: 'Password sign-in attempts, by outcome.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const secondFactorChecks = new Counter({
  name: 'tokenim_second_factor_checks_total',
  help: 'Second-factor codes checked (TOTP or recovery code), by outcome.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const storeOperationDuration = new Histogram({
  name: 'tokenim_store_operation_duration_seconds',
  help: 'Time of each store operation, by store (sqlite, mongodb, redis).',
  labelNames: ['store'] as const,
  buckets: STORE_BUCKETS,
  registers: [registry],
});

export const storeErrors = new Counter({
  name: 'tokenim_store_errors_total',
  help: 'Store operations that failed, by store, operation and kind (unavailable: answered 503; error: any other failure).',
  labelNames: ['store', 'operation', 'kind'] as const,
  registers: [registry],
});

export const revocationsPublished = new Counter({
  name: 'tokenim_revocation_events_published_total',
  help: 'Revocation events published to resource servers, by kind (grant, subject, client, session).',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const ledgerAppends = new Counter({
  name: 'tokenim_ledger_appends_total',
  help: 'Records appended to the audit ledger, by event type.',
  labelNames: ['type'] as const,
  registers: [registry],
});
