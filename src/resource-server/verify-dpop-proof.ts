import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWTPayload, type JWK } from 'jose';
import { createMemoryReplayCache, type ReplayCache } from './dpop-replay-cache.ts';

/**
 * The algorithms a proof may use: those the issuer accepts for DPoP at /token (oidc-provider's
 * dPoPSigningAlgValues), so a key the token is bound to works here too. Asymmetric only (§4.3 5).
 */
export const DPOP_ALGORITHMS = ['ES256', 'Ed25519', 'EdDSA'];

/** What a proof can be wrong about; the key of its description in views/locales (resource_server.dpop). */
export type DpopProblem = 'header' | 'malformed' | 'typ' | 'alg' | 'jwk' | 'signature' | 'claims' | 'ath'
  | 'htm' | 'htu' | 'iat' | 'replay';

/** RFC 9449 §7.1 `invalid_dpop_proof`. */
export class InvalidDpopProofError extends Error {
  readonly problem: DpopProblem;
  constructor(problem: DpopProblem, message: string) {
    super(message);
    this.name = 'InvalidDpopProofError';
    this.problem = problem;
  }
}

/** The proof's key is not the one the token is bound to: RFC 9449 §7.1 `invalid_token`. */
export class DpopKeyMismatchError extends Error {
  constructor() {
    super('the DPoP proof is signed with another key than the one the token is bound to');
    this.name = 'DpopKeyMismatchError';
  }
}

export interface DpopRequest {
  proof: string;
  method: string;
  /** The request's absolute URL as the client addressed it (query and fragment are ignored). */
  url: string;
  accessToken: string;
  /** The token's cnf.jkt. */
  jkt: string;
}

export type DpopProofVerifier = (request: DpopRequest) => Promise<void>;

export interface DpopVerifierOptions {
  /** Where accepted proofs are remembered: Redis when several instances serve the API. */
  replay?: ReplayCache;
  /** How old a proof's iat may be (default 60 s)... */
  maxAgeSeconds?: number;
  /** ...and how far either way the client's clock may be off (default 5 s). */
  clockToleranceSeconds?: number;
}

interface DpopClaims extends JWTPayload {
  htm?: unknown;
  htu?: unknown;
  ath?: unknown;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

/** §4.3 points 9 and 10: the URI without query and fragment, normalised (RFC 3986 §6.2.2, §6.2.3). */
function withoutQuery(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    return `${url.origin}${url.pathname}`;
  } catch {
    return undefined;
  }
}

/**
 * Checks a DPoP proof for a protected-resource request (RFC 9449 §4.3 and §7.1; no DPoP-Nonce):
 * one well-formed JWT, typ dpop+jwt, an allowed asymmetric alg, a public `jwk` that verifies the
 * signature, htm and htu of this request, a recent iat, ath = the token's hash, the key the token
 * is bound to (RFC 7638 thumbprint), and a jti not seen while the proof could be accepted.
 */
export function createDpopProofVerifier(options: DpopVerifierOptions = {}): DpopProofVerifier {
  const replay = options.replay ?? createMemoryReplayCache();
  const maxAge = options.maxAgeSeconds ?? 60;
  const tolerance = options.clockToleranceSeconds ?? 5;
  return async (request) => {
    let claims: DpopClaims;
    let jwk: JWK;
    try {
      const verified = await jwtVerify<DpopClaims>(request.proof, EmbeddedJWK, {
        typ: 'dpop+jwt', algorithms: DPOP_ALGORITHMS, maxTokenAge: maxAge, clockTolerance: tolerance,
        requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      });
      claims = verified.payload;
      jwk = verified.protectedHeader.jwk!;
    } catch (error) {
      throw describeJoseError(error);
    }
    if (typeof claims.jti !== 'string' || !claims.jti || typeof claims.htm !== 'string' || typeof claims.htu !== 'string') {
      throw new InvalidDpopProofError('claims', 'the DPoP proof needs jti, htm and htu strings');
    }
    if (claims.htm !== request.method) throw new InvalidDpopProofError('htm', `the DPoP proof is for ${claims.htm}, not ${request.method}`);
    const htu = withoutQuery(claims.htu);
    if (!htu || htu !== withoutQuery(request.url)) throw new InvalidDpopProofError('htu', 'the DPoP proof is for another URL');
    // §4.3 point 12 and §7.1: at a resource, the proof carries the hash of the token it presents.
    if (typeof claims.ath !== 'string') throw new InvalidDpopProofError('ath', 'the DPoP proof has no ath (access token hash)');
    if (claims.ath !== sha256(request.accessToken)) throw new InvalidDpopProofError('ath', 'the DPoP proof is for another access token');
    const thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
    if (thumbprint !== request.jkt) throw new DpopKeyMismatchError();
    // Last, so that a refused proof does not use up its jti. A proof can be accepted for
    // maxAge + 2 × tolerance seconds: it is remembered that long.
    if (!(await replay.useOnce(sha256(`${thumbprint} ${claims.jti}`), maxAge + 2 * tolerance))) {
      throw new InvalidDpopProofError('replay', 'this DPoP proof was already used; make a new one for each request');
    }
  };
}

function describeJoseError(error: unknown): InvalidDpopProofError {
  const { code, claim, reason } = error as { code?: string; claim?: string; reason?: string };
  if (code === 'ERR_JOSE_ALG_NOT_ALLOWED') {
    return new InvalidDpopProofError('alg', `the DPoP proof must be signed with ${DPOP_ALGORITHMS.join(', ')}`);
  }
  if (code === 'ERR_JWS_INVALID' && /jwk|JWK/.test((error as Error).message)) {
    return new InvalidDpopProofError('jwk', 'the DPoP proof must carry the public key (jwk header) that signed it');
  }
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return new InvalidDpopProofError('signature', 'the DPoP proof signature is not valid');
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && reason === 'missing') {
    return new InvalidDpopProofError('claims', 'the DPoP proof needs jti, htm, htu and iat');
  }
  if (code === 'ERR_JWT_EXPIRED' || (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim === 'iat')) {
    return new InvalidDpopProofError('iat', 'the DPoP proof is too old or from the future (iat); make a new one');
  }
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim === 'typ') return new InvalidDpopProofError('typ', 'the DPoP proof must have typ dpop+jwt');
  return new InvalidDpopProofError('malformed', 'the DPoP proof is not a well-formed JWT');
}
