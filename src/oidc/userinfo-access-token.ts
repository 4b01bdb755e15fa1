import { createPublicKey } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import Provider, { type AdapterPayload, type KoaContextWithOIDC } from 'oidc-provider';
import type { SigningJwk } from '../keys/key-timeline.ts';
import { API_ACCESS_TOKEN_ALG } from './constants.ts';

// UserInfo for an app that asked for OIDC scopes and API permissions in one request (OIDC Core
// §5.3). Such an app gets one access token, a JWT for the TokenIM API (RFC 9068), and an RP library
// calls UserInfo with exactly that token (openid-client `fetchUserInfo`, pyoidc, …). oidc-provider
// finds access tokens only in its store and refuses any with an audience; JWT access tokens are
// never stored. So at the UserInfo endpoint, and there only, our own API JWT is taken as the
// stored token it stands for, as Auth0 does (its API access tokens also carry the /userinfo
// audience when `openid` was asked). Every rule the provider applies to a stored token still
// applies: the grant live and its client and account too, DPoP binding (`jkt`, `ath`), `openid`
// in scope (RFC 6750 §3.1 insufficient_scope otherwise). Everywhere else a JWT is found nothing
// for, as before: introspection and revocation refuse it up front (unsupported_token_type,
// lib/shared/reject_structured_tokens.js); resource servers verify JWTs themselves.

const USERINFO_ROUTE = 'userinfo';
// A JWS in compact serialization: three base64url parts. Opaque tokens (nanoid) have no dot.
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/** The claims of our RFC 9068 access tokens that a stored access token has a field for. */
interface ApiAccessTokenClaims extends JWTPayload {
  jti: string;
  iat: number;
  exp: number;
  sub: string;
  client_id: string;
  grant_id?: string;
  session_uid?: string;
  /** The OIDC scopes of the authorization it came from, set when it asked for openid (create-provider.ts extraTokenClaims). */
  userinfo_scope?: string;
  /** It ends with the browser session it came from (oidc-provider's expiresWithSession at issuance). */
  session_bound?: boolean;
  cnf?: { jkt?: string };
}

export interface UserinfoAccessTokenDeps {
  issuer: string;
  /** The TokenIM API's resource indicator (config api.audience): the audience of every JWT we issue. */
  audience: string;
  /** The JWKS the provider publishes now: the signing keys and the retired ones still published (src/keys/watch-keyring.ts). */
  publishedKeys: () => readonly SigningJwk[];
  /** The request being served (default: Provider.ctx, which oidc-provider keeps in AsyncLocalStorage). */
  currentRequest?: () => Pick<KoaContextWithOIDC, 'oidc'> | undefined;
}

/** The stored form of an access token the value stands for, or undefined (not the UserInfo route, not ours, not valid). */
export type UserinfoAccessTokenFinder = (value: string) => Promise<AdapterPayload | undefined>;

const toPublicJwk = ({ kid, alg, use, ...jwk }: SigningJwk): JWK =>
  ({ ...createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'jwk' }), kid, alg, use }) as JWK;

export function createUserinfoAccessTokenFinder(deps: UserinfoAccessTokenDeps): UserinfoAccessTokenFinder {
  const currentRequest = deps.currentRequest ?? (() => Provider.ctx);
  // The key set changes only when the keyring does (key rotation): built once per published set.
  const keySets = new WeakMap<readonly SigningJwk[], ReturnType<typeof createLocalJWKSet>>();
  const keySet = () => {
    const keys = deps.publishedKeys();
    let set = keySets.get(keys);
    if (!set) keySets.set(keys, set = createLocalJWKSet({ keys: keys.map(toPublicJwk) }));
    return set;
  };

  const verify = async (value: string) => {
    try {
      // RFC 9068 §4: iss is us, aud the API, typ at+jwt, the signature one of our keys, not expired.
      const { payload } = await jwtVerify<ApiAccessTokenClaims>(value, keySet(), {
        issuer: deps.issuer, audience: deps.audience, typ: 'at+jwt', algorithms: [API_ACCESS_TOKEN_ALG],
        requiredClaims: ['jti', 'iat', 'exp', 'sub', 'client_id'],
      });
      return payload;
    } catch {
      return undefined;
    }
  };

  return async (value) => {
    const ctx = currentRequest();
    if (ctx?.oidc?.route !== USERINFO_ROUTE || !COMPACT_JWS.test(value)) return undefined;
    const claims = await verify(value);
    // A client credentials token has no person and no grant, and a token whose authorization did not
    // ask for openid reads nothing: not for UserInfo (OIDC Core §5.3).
    if (typeof claims?.grant_id !== 'string' || typeof claims.userinfo_scope !== 'string') return undefined;
    const grant = await ctx.oidc.provider.Grant.find(claims.grant_id);
    if (!grant) return undefined;
    // What the token was issued for, and still granted (the grant is shared by the person's sessions).
    const granted = new Set(grant.getOIDCScope().split(' '));
    const oidcScopes = claims.userinfo_scope.split(' ').filter((scope) => granted.has(scope));
    return {
      kind: 'AccessToken',
      jti: claims.jti,
      iat: claims.iat,
      exp: claims.exp,
      accountId: claims.sub,
      clientId: claims.client_id,
      grantId: claims.grant_id,
      // No `aud`: the provider refuses audience-bound tokens at UserInfo (lib/actions/userinfo.js).
      // The scope is what the token's authorization asked and the person still grants: UserInfo answers its claims.
      scope: oidcScopes.join(' '),
      // As the stored token from the same code: bound to its browser session unless it was issued
      // otherwise (oidc-provider's expiresWithSession, recorded at issuance), checked by AccessToken.find.
      ...(claims.session_uid ? { sessionUid: claims.session_uid, expiresWithSession: claims.session_bound === true } : {}),
      // RFC 9449 §6.1: the provider checks the DPoP proof against it, as for a stored bound token.
      ...(claims.cnf?.jkt ? { jkt: claims.cnf.jkt } : {}),
    } as AdapterPayload;
  };
}
