import type { Context, Middleware } from 'koa';
import type { Locale } from '../permissions/catalog.ts';
import { loadTranslations, resolveLocale, type Translate } from '../http/i18n.ts';
import { DEFAULT_VIEWS_DIR } from '../http/render.ts';
import { InvalidTokenError, type VerifiedAccessToken } from './verify-access-token.ts';
import {
  createDpopProofVerifier, DPOP_ALGORITHMS, DpopKeyMismatchError, InvalidDpopProofError, type DpopProofVerifier,
} from './verify-dpop-proof.ts';
import { ReplayCacheUnavailableError } from './dpop-replay-cache.ts';

export interface BearerOptions {
  realm?: string;
  /**
   * How to tell a caller what would give a missing permission, e.g. which role (in the 403), in
   * the caller's language (`t` translates views/locales keys).
   */
  explainMissingScope?: (scope: string, token: VerifiedAccessToken | undefined, t: Translate) => string;
  /** Checks DPoP proofs (RFC 9449); by default with a replay cache in this process's memory. */
  dpop?: DpopProofVerifier;
  /** views/locales; loaded from the package's views/ by default. */
  translations?: Record<Locale, Translate>;
}

/** The scheme a request authenticated with (RFC 9449 §7.1): challenges answer in the same one. */
export type AuthScheme = 'Bearer' | 'DPoP';

const DEFAULT_REALM = 'TokenIM';

const quoted = (value: string) => `"${value.replace(/["\\]/g, '')}"`;

function challenge(scheme: AuthScheme, realm: string, params: Record<string, string> = {}): string {
  // RFC 9449 §7.1: a DPoP challenge names the algorithms proofs may use.
  const all = scheme === 'DPoP' ? { ...params, algs: DPOP_ALGORITHMS.join(' ') } : params;
  return `${scheme} ${[`realm=${quoted(realm)}`, ...Object.entries(all).map(([k, v]) => `${k}=${quoted(v)}`)].join(', ')}`;
}

// RFC 6750 §2.1 and RFC 9449 §7.1: `<scheme> <token68>`; the scheme is case-insensitive (RFC 9110 §11.1).
const AUTHORIZATION = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*)$/i;

interface Refusal {
  status: 401 | 403;
  scheme: AuthScheme;
  error: 'invalid_token' | 'invalid_dpop_proof' | 'insufficient_scope';
  scope?: string;
  /** The description in a language (`t`: views/locales). */
  describe(t: Translate): string;
}

const described = (key: string, params?: Record<string, string>) => (t: Translate) => t(key, params);

interface Responder {
  refuse(ctx: Context, refusal: Refusal): void;
  translate(ctx: Context): Translate;
}

function createResponder(options: BearerOptions): Responder {
  const realm = options.realm ?? DEFAULT_REALM;
  const translations = options.translations ?? loadTranslations(DEFAULT_VIEWS_DIR);
  const translate = (ctx: Context) => translations[resolveLocale({ acceptLanguage: ctx.get('Accept-Language') })];
  return {
    translate,
    refuse(ctx, { status, scheme, error, scope, describe }) {
      // The header stays English: RFC 6750 §3 allows only ASCII in error_description. The body
      // speaks the caller's language; the error codes are the RFCs' own.
      const withScope: Record<string, string> = scope ? { scope } : {};
      ctx.status = status;
      ctx.set('WWW-Authenticate', challenge(scheme, realm, { error, ...withScope, error_description: describe(translations.en) }));
      ctx.body = { error, ...withScope, error_description: describe(translate(ctx)) };
    },
  };
}

/**
 * RFC 6750 bearer and RFC 9449 DPoP authentication. No token → 401 with a bare challenge for each
 * scheme (RFC 6750 §3.1, RFC 9449 §7.2); a bad, expired, foreign or revoked token → 401
 * `invalid_token`. A DPoP-bound token (cnf.jkt) is accepted only with the DPoP scheme and a valid
 * proof (§7.1; `invalid_dpop_proof` otherwise), never as a bearer token (§7.2). The verified token
 * goes to ctx.state.accessToken, the scheme to ctx.state.authScheme. Tokens are read from the
 * Authorization header only (RFC 6750 §2.3 query tokens are refused by design).
 */
export function bearerAuth(verify: (token: string) => Promise<VerifiedAccessToken>, options: BearerOptions = {}): Middleware {
  const realm = options.realm ?? DEFAULT_REALM;
  const responder = createResponder(options);
  const verifyProof = options.dpop ?? createDpopProofVerifier();
  return async (ctx, next) => {
    const match = AUTHORIZATION.exec(ctx.get('Authorization'));
    if (!match) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', [challenge('Bearer', realm), challenge('DPoP', realm)]);
      ctx.body = { error: 'invalid_request', error_description: responder.translate(ctx)('resource_server.missing_token') };
      return;
    }
    const scheme: AuthScheme = match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    const accessToken = match[2]!;
    let token: VerifiedAccessToken;
    try {
      token = await verify(accessToken);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      const params = error.claim ? { claim: error.claim } : undefined;
      responder.refuse(ctx, { status: 401, scheme, error: 'invalid_token',
        describe: described(`resource_server.invalid_token.${error.reason}`, params) });
      return;
    }
    const refusal = await checkBinding(ctx, scheme, accessToken, token, verifyProof);
    if (refusal) {
      responder.refuse(ctx, refusal);
      return;
    }
    ctx.state.accessToken = token;
    ctx.state.authScheme = scheme;
    await next();
  };
}

const dpopRefusal = (error: 'invalid_token' | 'invalid_dpop_proof', key: string): Refusal => ({
  status: 401, scheme: 'DPoP', error, describe: described(`resource_server.${key}`, { algs: DPOP_ALGORITHMS.join(', ') }),
});

/** Sender constraint (RFC 9449 §7): what is wrong with how the token was presented, if anything. */
async function checkBinding(
  ctx: Context, scheme: AuthScheme, accessToken: string, token: VerifiedAccessToken, verifyProof: DpopProofVerifier,
): Promise<Refusal | undefined> {
  const jkt = token.claims.cnf?.jkt;
  // §7.2: a DPoP-bound token sent as a bearer token is refused, or the binding would protect nothing.
  if (scheme === 'Bearer') return jkt ? dpopRefusal('invalid_token', 'invalid_token.dpop_bound') : undefined;
  if (!jkt) return dpopRefusal('invalid_token', 'invalid_token.not_bound');
  // §4.3 point 1: exactly one DPoP header field.
  const proofs = ctx.req.headersDistinct.dpop ?? [];
  if (proofs.length !== 1) return dpopRefusal('invalid_dpop_proof', 'dpop.header');
  try {
    // The URL as the client addressed it (Koa 3: ctx.origin is the Origin header; host and protocol
    // follow X-Forwarded-* when app.proxy is set, behind a reverse proxy).
    // The original path, not ctx.path, which a mount prefix (koa-mount) would have shortened.
    const url = `${ctx.protocol}://${ctx.host}${new URL(ctx.originalUrl, 'http://self').pathname}`;
    await verifyProof({ proof: proofs[0]!, method: ctx.method, url, accessToken, jkt });
  } catch (error) {
    // §7.1: a proof by another key than the token's is the token's problem (its binding), not the proof's.
    if (error instanceof DpopKeyMismatchError) return dpopRefusal('invalid_token', 'invalid_token.key_mismatch');
    if (error instanceof ReplayCacheUnavailableError) {
      // Fail closed, and say it is temporary: accepting an unchecked proof would allow replays.
      ctx.throw(503, 'the API cannot check DPoP proofs right now; try again in a moment',
        { expose: true, headers: { 'Retry-After': '1' } });
    }
    if (!(error instanceof InvalidDpopProofError)) throw error;
    return dpopRefusal('invalid_dpop_proof', `dpop.${error.problem}`);
  }
  return undefined;
}

/** 403 `insufficient_scope` naming the permission (RFC 6750 §3.1) unless the token carries it. */
export function requireScope(scope: string, options: BearerOptions = {}): Middleware {
  const responder = createResponder(options);
  return async (ctx, next) => {
    const token = ctx.state.accessToken as VerifiedAccessToken | undefined;
    if (!token?.scopes.has(scope)) {
      responder.refuse(ctx, {
        status: 403, scheme: (ctx.state.authScheme as AuthScheme | undefined) ?? 'Bearer', error: 'insufficient_scope', scope,
        describe(t) {
          const explanation = options.explainMissingScope?.(scope, token, t);
          return explanation
            ? t('resource_server.insufficient_scope_because', { scope, explanation })
            : t('resource_server.insufficient_scope', { scope });
        },
      });
      return;
    }
    await next();
  };
}
