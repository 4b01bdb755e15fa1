import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

/** What a TokenIM access token (RFC 9068) tells a resource server. */
export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  client_id: string;
  scope?: string;
  roles?: string[];
  grant_id?: string;
  /** The browser session the token was issued through: signing it out of this app revokes the token. */
  session_uid?: string;
  /** The issue time in milliseconds (iat has second precision). */
  issued_at_ms?: number;
  acr?: string;
  amr?: string[];
  /** RFC 9449 §6.1: a DPoP-bound token names the SHA-256 thumbprint of the client's key. */
  cnf?: { jkt?: string };
}

export interface VerifiedAccessToken {
  claims: AccessTokenClaims;
  scopes: Set<string>;
}

export type InvalidTokenReason = 'expired' | 'claim' | 'signature' | 'malformed' | 'revoked';

/**
 * A token that must be refused: RFC 6750 `invalid_token`. `reason` (and `claim`) name the problem
 * for a translated description; the message is the English one.
 */
export class InvalidTokenError extends Error {
  readonly reason: InvalidTokenReason;
  readonly claim: string | undefined;
  constructor(reason: InvalidTokenReason, message: string, claim?: string) {
    super(message);
    this.name = 'InvalidTokenError';
    this.reason = reason;
    this.claim = claim;
  }
}

export interface RevocationCheck {
  /** True when the token was issued before a revocation of its grant, subject or client. */
  isRevoked(claims: AccessTokenClaims): boolean;
}

export interface TokenVerifierOptions {
  issuer: string;
  /** The resource indicator the tokens must be issued for (config api.audience). */
  audience: string;
  /** Defaults to the issuer's discovery document's jwks_uri. */
  jwksUri?: string;
  revocations?: RevocationCheck;
  /** The least time between two JWKS fetches on an unknown kid (default JWKS_REFETCH_COOLDOWN_MS). */
  jwksCooldownMs?: number;
  /** How long a fetched JWKS is used before it is fetched again (default 5 min); keep it under the issuer's publish delay. */
  jwksCacheMaxAgeMs?: number;
}

/**
 * A token naming a kid the cached JWKS lacks refetches it, at most this often: soon enough that a
 * key the issuer has just started signing with is found at once (the issuer publishes a new key
 * keys.publishDelaySeconds before it signs, src/keys/key-timeline.ts), rare enough that tokens with
 * made-up kids cannot turn the API into a flood of requests to the issuer.
 */
export const JWKS_REFETCH_COOLDOWN_MS = 5_000;
// Half the issuer's default publish delay (10 min): the JWKS is fetched again at least once
// between a new key's publication and its first signature, so the switch costs no refusal.
const JWKS_CACHE_MAX_AGE_MS = 5 * 60_000;

// Asymmetric algorithms only: `none` and HS* (a public key used as an HMAC secret) never verify.
const ALGORITHMS = ['ES256', 'EdDSA', 'PS256', 'RS256'];

/**
 * Verifies TokenIM access tokens: signature against the issuer's JWKS (cached; refetched when a
 * token names an unknown kid, as after a key rotation), iss, aud, exp, typ at+jwt (RFC 9068 §4),
 * and, when given, the revocation list.
 */
export function createTokenVerifier(options: TokenVerifierOptions): (token: string) => Promise<VerifiedAccessToken> {
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  const keySet = async () => {
    if (!jwks) {
      const jwksUri = options.jwksUri ?? await discoverJwksUri(options.issuer);
      jwks = createRemoteJWKSet(new URL(jwksUri), {
        cooldownDuration: options.jwksCooldownMs ?? JWKS_REFETCH_COOLDOWN_MS, cacheMaxAge: options.jwksCacheMaxAgeMs ?? JWKS_CACHE_MAX_AGE_MS });
    }
    return jwks;
  };
  return async (token) => {
    let claims: AccessTokenClaims;
    try {
      const verified = await jwtVerify<AccessTokenClaims>(token, await keySet(), {
        issuer: options.issuer, audience: options.audience, typ: 'at+jwt', algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'iat', 'sub', 'client_id'],
      });
      claims = verified.payload;
    } catch (error) {
      throw describeJoseError(error);
    }
    if (options.revocations?.isRevoked(claims)) throw new InvalidTokenError('revoked', 'the token was revoked');
    return { claims, scopes: new Set((claims.scope ?? '').split(' ').filter(Boolean)) };
  };
}

async function discoverJwksUri(issuer: string): Promise<string> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the issuer's discovery document answered ${response.status}`);
  const { jwks_uri: jwksUri } = (await response.json()) as { jwks_uri?: string };
  if (!jwksUri) throw new Error('the discovery document names no jwks_uri');
  return jwksUri;
}

function describeJoseError(error: unknown): InvalidTokenError {
  const code = (error as { code?: string }).code;
  if (code === 'ERR_JWT_EXPIRED') return new InvalidTokenError('expired', 'the token has expired');
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    const claim = (error as { claim?: string }).claim ?? 'claims';
    return new InvalidTokenError('claim', `the token's ${claim} is not valid here`, claim);
  }
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || code === 'ERR_JWKS_NO_MATCHING_KEY') {
    return new InvalidTokenError('signature', 'the token signature is not valid');
  }
  return new InvalidTokenError('malformed', 'the token is malformed or not an access token');
}
