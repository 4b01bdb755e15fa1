import Provider from 'oidc-provider';
import type { ArtifactPayload, ArtifactStore } from '../storage/contract.ts';

// The refresh token reuse interval (Auth0's "reuse interval", Okta's "grace period"): a response
// lost in flight must not sign the person out. RFC 9700 §4.14.2 has a presented, already rotated
// refresh token revoke the grant; within a short interval after its rotation, a client that never
// received the successor may present it again and gets a fresh pair of the same grant instead.
//
// One chain stays live, never two: a rotated token records its successor's stored id
// (`successor`), and a retry takes that successor out of play with the store's atomic consume
// before a new pair is minted. Of concurrent retries exactly one consumes it; the others get
// invalid_grant and the grant stays. The successor the retry replaces is destroyed, not kept: the
// client that retries never received it, so whoever presents it later is not that client.
// A successor already used proves the client received it: presenting its predecessor is reuse,
// and the provider revokes the grant as before, inside the interval too.

const MODEL = 'RefreshToken';

export interface ReuseSettings {
  /** 0: off (every reuse revokes the grant). */
  intervalSeconds: number;
}

const isOn = (settings: ReuseSettings | undefined, model: string): settings is ReuseSettings =>
  model === MODEL && (settings?.intervalSeconds ?? 0) > 0;

/** The token was rotated (consumed) less than the interval ago. */
const isWithinInterval = (settings: ReuseSettings, payload: ArtifactPayload, now = Date.now()) =>
  payload.consumed !== undefined && now / 1000 - payload.consumed < settings.intervalSeconds;

/** The request being served is a refresh at the token endpoint (oidc-provider keeps it in AsyncLocalStorage). */
function isRefreshGrant(): boolean {
  const oidc = Provider.ctx?.oidc;
  return oidc?.route === 'token' && oidc.params?.grant_type === 'refresh_token';
}

/**
 * What the refresh grant reads of a stored refresh token: within the interval, and while its
 * successor is unused, without `consumed`, so that the provider goes on to rotate it (and then
 * calls consume, where claimRetry decides). Everywhere else (introspection, revocation, after the
 * interval, a successor already used) as stored.
 */
export async function refreshTokenAsFound(settings: ReuseSettings | undefined, store: ArtifactStore, model: string,
  payload: ArtifactPayload | undefined): Promise<ArtifactPayload | undefined> {
  if (!payload || !isOn(settings, model) || !isWithinInterval(settings, payload) || !isRefreshGrant()) return payload;
  const successor = typeof payload.successor === 'string' ? await store.find(model, payload.successor) : undefined;
  if (successor?.consumed !== undefined) return payload;
  const { consumed: _consumed, ...retryable } = payload;
  return retryable;
}

/**
 * Called when consuming a refresh token found it already consumed. 'retry': within the interval,
 * and this request took the recorded successor out of play (atomic consume, then destroyed); the
 * provider then mints the new pair. 'refused': within the interval but another request got there
 * first (a concurrent retry, or the first rotation not yet recorded): invalid_grant, grant kept.
 * 'reuse': outside the interval or off: the caller revokes the grant.
 */
export async function claimRetry(settings: ReuseSettings | undefined, store: ArtifactStore, model: string,
  storedId: string): Promise<'retry' | 'refused' | 'reuse'> {
  if (!isOn(settings, model)) return 'reuse';
  const stored = await store.find(model, storedId);
  if (!stored || !isWithinInterval(settings, stored)) return 'reuse';
  if (typeof stored.successor !== 'string' || !(await store.consume(model, stored.successor))) return 'refused';
  await store.destroy(model, stored.successor);
  return 'retry';
}

/**
 * After a refresh token is saved by a rotation, records it as the rotated token's successor. The
 * rotated token's stored id comes from the request (oidc-provider's RotatedRefreshToken entity);
 * it is rewritten only by the request that consumed it or that won its retry, one at a time.
 */
export async function recordSuccessor(settings: ReuseSettings | undefined, store: ArtifactStore, model: string,
  storedIdOf: (rawId: string) => string, savedRawId: string): Promise<void> {
  if (!isOn(settings, model)) return;
  const rotated = Provider.ctx?.oidc?.entities.RotatedRefreshToken as { jti?: string } | undefined;
  if (!rotated?.jti || rotated.jti === savedRawId) return;
  const previousId = storedIdOf(rotated.jti);
  const previous = await store.find(model, previousId);
  if (!previous) return;
  const { consumed: _consumed, ...payload } = previous;
  const expiresIn = typeof payload.exp === 'number' ? Math.max(1, payload.exp - Math.floor(Date.now() / 1000)) : undefined;
  // The stores keep `consumed` through an upsert (the conformance suite checks it).
  await store.upsert(model, previousId, { ...payload, successor: storedIdOf(savedRawId) }, expiresIn);
}
