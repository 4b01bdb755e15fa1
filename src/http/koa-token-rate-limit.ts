import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import type { RouteGuard } from '../oidc/around-provider-routes.ts';
import { countTokenRequest, type TokenRateDeps } from '../applications/token-rate-limit.ts';

// oidc-provider's own limit on a token request body (lib/shared/selective_body.js).
const MAX_BODY_BYTES = 56 * 1024;

/** RFC 6749 §2.3.1: the client id in HTTP Basic is form-encoded. Undefined when malformed (the provider refuses it). */
function basicClientId(authorization: string | undefined): string | undefined {
  const [scheme, token] = authorization?.split(' ') ?? [];
  if (scheme?.toLowerCase() !== 'basic' || !token) return undefined;
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 1) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, '%20'));
  } catch {
    return undefined;
  }
}

/** RFC 7523 §3: a client assertion's `sub` is the client id. Read unverified: it only names whom to count. */
function assertionClientId(assertion: string | null): string | undefined {
  const payload = assertion?.split('.')[1];
  if (!payload) return undefined;
  try {
    const { sub } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let received = 0;
  // Not destroyed when left early: the answer to an oversized body still reaches the client.
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > MAX_BODY_BYTES) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, received).toString('utf8');
}

/**
 * The client a token request names, before anyone checks its credentials: HTTP Basic, else the
 * form's client_id, else its client assertion. Reading the form consumes the request stream, so
 * the text is handed on as `req.body`, which oidc-provider parses as it would have read it
 * (selective_body.js; it notes once in the log that a body came already read).
 */
async function namedClientId(ctx: Context): Promise<string | undefined> {
  const fromHeader = basicClientId(ctx.get('authorization') || undefined);
  if (fromHeader !== undefined || !ctx.is('application/x-www-form-urlencoded')) return fromHeader;
  if (Number(ctx.get('content-length')) > MAX_BODY_BYTES) return undefined;
  const body = await readBody(ctx.req);
  if (body === undefined) return undefined;
  (ctx.req as IncomingMessage & { body?: string }).body = body;
  const form = new URLSearchParams(body);
  const ids = form.getAll('client_id');
  // A repeated client_id is the provider's to refuse (RFC 6749 §3.1: parameters MUST NOT repeat).
  if (ids.length > 1) return undefined;
  return ids[0] ?? assertionClientId(form.get('client_assertion'));
}

/**
 * The token endpoint's per-application rate limit, ahead of client authentication so that a
 * throttled client costs no secret check: a guard of the provider's routes (around-provider-routes.ts).
 * Over the limit: 429 with `slow_down` (RFC 8628 §3.5's "poll less often", the one OAuth error
 * code that says "later, slower"; RFC 6749 §5.2 has none for it) and Retry-After (RFC 9110
 * §10.2.3) at the end of the minute. Other requests pass at once, without an await.
 */
export function tokenRateLimit(deps: TokenRateDeps, tokenPath = '/token'): RouteGuard {
  return (ctx) => (ctx.method !== 'POST' || ctx.path !== tokenPath ? false : refuseOverLimit(deps, ctx));
}

/** Answers the token request itself (true) when it is over its client's limit or its body too large. */
async function refuseOverLimit(deps: TokenRateDeps, ctx: Context): Promise<boolean> {
  let clientId: string | undefined;
  try {
    clientId = await namedClientId(ctx);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    // As oidc-provider answers a body over its limit (RFC 6749 §5.2).
    ctx.status = 400;
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Connection', 'close');
    ctx.body = { error: 'invalid_request', error_description: 'the request body is too large' };
    return true;
  }
  const decision = clientId === undefined ? undefined : await countTokenRequest(deps, clientId);
  if (!decision || decision.isAllowed) return false;
  ctx.status = 429;
  ctx.set('Retry-After', String(decision.retryAfterSeconds));
  // RFC 6749 §5.1: token endpoint answers are not to be cached.
  ctx.set('Cache-Control', 'no-store');
  ctx.body = {
    error: 'slow_down',
    error_description: `this client may make ${decision.perMinute} token requests per minute; retry after ${decision.retryAfterSeconds} seconds`,
  };
  return true;
}
