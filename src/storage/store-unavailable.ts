import { performance } from 'node:perf_hooks';
import { isDuplicateError } from './contract.ts';
import { storeErrors, storeOperationDuration } from '../metrics/instruments.ts';

/**
 * A store that cannot be reached (Redis or MongoDB down, SQLite locked past its timeout). Shaped
 * like an OAuth error so that oidc-provider and our error handler both answer 503
 * `temporarily_unavailable` (RFC 6749 §4.1.2.1) instead of a 500. Nothing was written, except that
 * a Redis command that timed out waiting for its reply may still have been applied.
 */
export class StoreUnavailableError extends Error {
  readonly status = 503;
  readonly statusCode = 503;
  readonly expose = true;
  readonly error_description = 'the service is briefly unavailable; try again in a moment';
  readonly store: string;

  constructor(store: string, cause: unknown) {
    // oidc-provider takes the OAuth error code from `message`.
    super('temporarily_unavailable', { cause });
    this.name = 'StoreUnavailableError';
    this.store = store;
  }
}

export type UnavailabilityTest = (error: unknown) => boolean;

const messageOf = (error: unknown) => (error instanceof Object && 'message' in error ? String(error.message) : '');
const nameOf = (error: unknown) => (error instanceof Object && 'name' in error ? String(error.name) : '');

/** ioredis: the connection is down, or a command gave up waiting for it or for its reply (commandTimeout). */
export const isRedisUnavailable: UnavailabilityTest = (error) =>
  nameOf(error) === 'MaxRetriesPerRequestError'
  || /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Stream isn't writeable|^Command timed out$/.test(messageOf(error));

/** The MongoDB driver: no server reachable, or the connection dropped. */
export const isMongoUnavailable: UnavailabilityTest = (error) =>
  /^Mongo(Network|NetworkTimeout|ServerSelection|NotConnected|TopologyClosed)Error$/.test(nameOf(error));

/** SQLite: SQLITE_BUSY / SQLITE_LOCKED (another connection holds the lock; the refused statement wrote nothing). */
export const isSqliteUnavailable: UnavailabilityTest = (error) =>
  [5, 6].includes(Number((error as { errcode?: number } | null)?.errcode) & 0xff);

/**
 * The same store, whose methods turn the backend's connectivity errors into StoreUnavailableError;
 * every call is timed and every failure counted on /metrics (a duplicate is an answer, not a failure).
 */
export function guardStore<T extends object>(store: string, target: T, isUnavailable: UnavailabilityTest): T {
  // One labelled child per store, made once: no label object per call.
  const timing = storeOperationDuration.labels(store);
  return wrapStoreMethods(target, (call, operation) => async (...args) => {
    const started = performance.now();
    try {
      return await call(...args);
    } catch (error) {
      const isDown = isUnavailable(error);
      if (!isDuplicateError(error)) storeErrors.inc({ store, operation, kind: isDown ? 'unavailable' : 'error' });
      throw isDown ? new StoreUnavailableError(store, error) : error;
    } finally {
      timing.observe((performance.now() - started) / 1000);
    }
  });
}

type StoreMethod = (...args: unknown[]) => Promise<unknown>;

/** The same store, each of its (async) methods replaced by `wrap(method, its name)`. */
export function wrapStoreMethods<T extends object>(target: T, wrap: (method: StoreMethod, name: string) => StoreMethod): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(target)) {
    wrapped[name] = typeof member === 'function' ? wrap((member as StoreMethod).bind(target), name) : member;
  }
  return wrapped as T;
}
