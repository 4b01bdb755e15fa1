import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import { AppError } from '../shared/app-error.ts';
import { seeOther } from './forms.ts';

/**
 * The front-channel endpoints that must also take a form post: the authorization endpoint (OIDC
 * Core §3.1.2.1) and the end-session endpoint (RP-Initiated Logout 1.0 §2). These are
 * oidc-provider's default routes; src/oidc/create-provider.ts does not rename them.
 */
export const FRONT_CHANNEL_PATHS: ReadonlySet<string> = new Set(['/auth', '/session/end']);

/**
 * The query must fit one request line behind a reverse proxy (nginx reads it into one 8 KiB
 * `large_client_header_buffers` buffer by default; Node allows 16 KiB of headers in all). Larger
 * authorization requests belong in a pushed authorization request (RFC 9126), a back-channel post.
 */
export const MAX_QUERY_BYTES = 7 * 1024;

const tooLarge = () => new AppError('payload_too_large',
  'this request is too large to be sent through the browser; the application should use a pushed authorization request (PAR)',
  { status: 413 });

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, received);
}

/**
 * The parameters of a UTF-8 form body, in order and with repeats, as the provider would read them
 * (duplicates are its to refuse). Not `formBody` (src/http/forms.ts): its qs parsing turns repeats
 * into arrays and brackets into objects, which cannot be turned back into the query that was sent.
 */
function formParameters(body: Buffer): URLSearchParams {
  try {
    return new URLSearchParams(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new AppError('invalid_request', 'the form is not valid UTF-8');
  }
}

/**
 * A form post to /auth or /session/end is answered with 303 See Other to the same endpoint with
 * the form's parameters as the query, and the provider then handles the GET as any other.
 *
 * Why not oidc-provider's `enableHttpPostMethods`: it requires the session cookie to be
 * SameSite=None, which browsers accept only with Secure (so http://localhost development breaks)
 * and which sends the session with every cross-site request. A cross-site form post carries no
 * SameSite=Lax cookie, but the top-level GET that follows the 303 does, so the person's session
 * is found as for a link. Nothing is decided here: a cross-site post becomes a GET that anyone
 * could have linked to, and `request`, `request_uri` and repeated parameters reach the provider
 * unchanged (its own POST handling reads the body only, and so does this).
 */
export function postAsGet(): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || !FRONT_CHANNEL_PATHS.has(ctx.path)) return next();
    // OIDC Core §3.1.2.1 and RP-Initiated Logout §2: "Form Serialization", nothing else.
    if (ctx.request.type !== 'application/x-www-form-urlencoded') {
      throw new AppError('invalid_request', `only application/x-www-form-urlencoded bodies are accepted on POST ${ctx.path}`);
    }
    const charset = ctx.request.charset;
    if (charset && charset.toLowerCase() !== 'utf-8') throw new AppError('invalid_request', 'the form must be sent as UTF-8');
    const query = formParameters(await readBody(ctx.req, MAX_QUERY_BYTES)).toString();
    if (query.length > MAX_QUERY_BYTES) throw tooLarge();
    ctx.set('Cache-Control', 'no-store');
    seeOther(ctx, query ? `${ctx.path}?${query}` : ctx.path);
  };
}
