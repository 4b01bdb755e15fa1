import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';

/** What the ledger (and the logs) say of the request an action came from. */
export interface RequestMeta {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
}

const storage = new AsyncLocalStorage<RequestMeta>();

/** The request being served, wherever in its handling (routes, oidc-provider's events, domain functions); undefined outside one. */
export const currentRequest = (): RequestMeta | undefined => storage.getStore();

// A request id from the proxy in front: printable, short, no spaces (it goes into logs and the ledger).
const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * The first middleware: gives the request an id, taken from `X-Request-Id` when a trusted proxy
 * sets it (TRUST_PROXY), else generated, and echoed in the response; and makes it, the client's
 * address and user agent available to everything the request runs (currentRequest).
 */
export function requestContext(trustProxy: boolean): Middleware {
  return (ctx, next) => {
    const offered = trustProxy ? ctx.get('X-Request-Id') : '';
    const requestId = REQUEST_ID.test(offered) ? offered : randomUUID();
    ctx.set('X-Request-Id', requestId);
    ctx.state.requestId = requestId;
    const userAgent = ctx.get('User-Agent').slice(0, 512) || null;
    return storage.run({ requestId, ip: ctx.ip || null, userAgent }, next);
  };
}
