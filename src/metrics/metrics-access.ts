import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema.ts';

/** Who may read /metrics where it is served. */
export interface MetricsAccess {
  /** METRICS_TOKEN: `Authorization: Bearer <token>` is required. */
  token: string | undefined;
  /** No token and no port of its own: only a client on this machine (the socket's address). */
  isLoopbackOnly: boolean;
}

/**
 * METRICS_TOKEN, when set, is asked for wherever the metrics are served. Else METRICS_PORT alone
 * opens them to whoever reaches that port (keep it off the public network); with neither, they are
 * served on the main port to loopback only. The metrics hold no secret, but route and client
 * counts tell an outsider more than they need to know.
 */
export const metricsAccess = (config: Pick<Config, 'metrics' | 'metricsToken'>): MetricsAccess =>
  ({ token: config.metricsToken, isLoopbackOnly: !config.metricsToken && config.metrics.port === null });

// The socket's own address, never X-Forwarded-For: behind a proxy on the same machine every request
// would look local, hence a token or a port of its own for that set-up.
const isLoopback = (address: string | undefined) =>
  address !== undefined && (address === '::1' || /^(::ffff:)?127\./.test(address));

const digest = (value: string) => createHash('sha256').update(value).digest();

// Hashing first gives timingSafeEqual two equal lengths, so neither the token nor its length leaks.
const isTokenRight = (expected: string, authorization: string | undefined) => {
  const offered = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? '';
  return timingSafeEqual(digest(offered), digest(expected));
};

export type MetricsRefusal = 'token_required' | 'loopback_only';

/** Undefined when the request may read the metrics, else why not. */
export function refuseMetricsRequest(access: MetricsAccess, request: { authorization: string | undefined;
  remoteAddress: string | undefined }): MetricsRefusal | undefined {
  if (access.token !== undefined) return isTokenRight(access.token, request.authorization) ? undefined : 'token_required';
  if (access.isLoopbackOnly && !isLoopback(request.remoteAddress)) return 'loopback_only';
  return undefined;
}
