import { createHmac, type KeyObject } from 'node:crypto';
import { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';
import type { ApplicationStore, ArtifactPayload, ArtifactStore, AuthorizationStore } from '../storage/contract.ts';
import { toClientMetadata } from '../applications/client-metadata.ts';
import { withAuthorizationIndex } from './authorization-index.ts';
import { claimRetry, recordSuccessor, refreshTokenAsFound, type ReuseSettings } from './refresh-token-reuse.ts';
import type { UserinfoAccessTokenFinder } from './userinfo-access-token.ts';

// Short-lived artifacts: Redis in Redis mode (else the durable store). Everything else (Grant,
// RefreshToken, …) lives in the durable store. Clients come from the applications store.
const SHORT_LIVED_MODELS = new Set([
  'Session', 'Interaction', 'AuthorizationCode', 'PushedAuthorizationRequest', 'ReplayDetection',
  'AccessToken', 'ClientCredentials', // opaque tokens only; JWT access tokens are never stored
]);

// Models whose artifacts hang off a grant (revocation deletes them with it).
const GRANT_BOUND_MODELS = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest'];

const CONSUMED_LABEL: Record<string, string> = {
  AuthorizationCode: 'authorization code',
  RefreshToken: 'refresh token',
  DeviceCode: 'device code',
  BackchannelAuthenticationRequest: 'backchannel authentication request',
};

export interface AdapterStores {
  shortLived: ArtifactStore;
  durable: ArtifactStore;
  /** The admin console's index of grants, kept in step with every Grant written here (storeForModel). */
  authorizations: AuthorizationStore;
  applications: ApplicationStore;
  oidcScopes: readonly string[];
  /** HMAC-SHA-256 key (derived from SECRET_KEY) under which artifact ids are stored. */
  artifactIdKey: KeyObject;
  /** Told of every grant revoked here (resource servers then drop its tokens at once). */
  onGrantRevoked?: (grantId: string) => Promise<void>;
  /** The API scopes an application's owner may reach today (their roles; none when disabled). */
  ownerScopes?: (ownerId: string) => Promise<ReadonlySet<string>>;
  /** The refresh token reuse interval (src/oidc/refresh-token-reuse.ts); absent: off. */
  refreshTokenReuse?: ReuseSettings;
  /** Our API JWT access tokens as UserInfo finds them (src/oidc/userinfo-access-token.ts); absent: opaque tokens only. */
  userinfoAccessToken?: UserinfoAccessTokenFinder;
}

export function storeForModel(stores: Pick<AdapterStores, 'shortLived' | 'durable' | 'authorizations'>, model: string): ArtifactStore {
  if (SHORT_LIVED_MODELS.has(model)) return stores.shortLived;
  return model === 'Grant' ? withAuthorizationIndex(stores.durable, stores.authorizations) : stores.durable;
}

/** What revoking a grant needs: the CLI has it too (src/services.ts), without the provider's other stores. */
export type GrantRevocationStores = Pick<AdapterStores, 'shortLived' | 'durable' | 'authorizations' | 'onGrantRevoked'>;

/** Revokes a grant as oidc-provider does: every token and code issued under it, then the grant. */
export async function revokeGrant(stores: GrantRevocationStores, grantId: string): Promise<void> {
  await Promise.all([
    ...GRANT_BOUND_MODELS.map((model) => storeForModel(stores, model).revokeByGrantId(model, grantId)),
    storeForModel(stores, 'Grant').destroy('Grant', grantId),
  ]);
  await stores.onGrantRevoked?.(grantId);
}

// Artifact ids are bearer credentials (refresh tokens, codes, the `_session` cookie value): they
// are stored only under a keyed hash, as Ory Hydra stores token signatures, so a copy of the
// database yields nothing to replay (RFC 6819 §5.1.4.1.3: no cleartext storage of credentials).
// Grant ids are identifiers, not credentials: they are `grant_id` in JWT access tokens, and
// /account lists and revokes grants by them through the raw store, so they are stored as they are.
const MODELS_STORED_BY_RAW_ID = new Set(['Grant']);

const storedIdFor = (stores: AdapterStores, model: string, id: string): string =>
  (MODELS_STORED_BY_RAW_ID.has(model) ? id : createHmac('sha256', stores.artifactIdKey).update(id).digest('base64url'));

/**
 * The payload as stored: without `jti` (the raw id; find puts it back) and, for an Interaction,
 * without `session.cookie` (the Session jti, which oidc-provider writes there and never reads).
 */
function toStoredPayload(model: string, payload: AdapterPayload): ArtifactPayload {
  const { jti: _rawId, ...stored } = payload as ArtifactPayload;
  if (model === 'Interaction' && typeof stored.session === 'object' && stored.session !== null) {
    const { cookie: _sessionId, ...session } = stored.session as Record<string, unknown>;
    stored.session = session;
  }
  return stored;
}

// findByUid / findByUserCode results lack `jti` (the stored key is a hash). Harmless for Session:
// oidc-provider only reads what it finds by uid (token_helpers.js checkSessionBinding,
// provider.js #getInteraction). DeviceCode (found by user code, then saved) would need its jti:
// the device flow is disabled here; enabling it needs the jti stored sealed.
function artifactAdapter(stores: AdapterStores, model: string): Adapter {
  const store = storeForModel(stores, model);
  const storedId = (id: string) => storedIdFor(stores, model, id);
  const withId = (id: string, payload: ArtifactPayload | undefined) =>
    payload && ({ ...payload, jti: id } as AdapterPayload);
  const reuse = stores.refreshTokenReuse;
  // JWT access tokens are never stored: at UserInfo only, ours stand for the stored token.
  const jwtAccessToken = model === 'AccessToken' ? stores.userinfoAccessToken : undefined;
  return {
    async upsert(id, payload, expiresIn) {
      await store.upsert(model, storedId(id), toStoredPayload(model, payload), expiresIn);
      await recordSuccessor(reuse, store, model, storedId, id);
    },
    find: async (id) => (await jwtAccessToken?.(id))
      ?? withId(id, await refreshTokenAsFound(reuse, store, model, await store.find(model, storedId(id)))),
    findByUid: async (uid) => (await store.findByUid(model, uid)) as AdapterPayload | undefined,
    findByUserCode: async (userCode) => (await store.findByUserCode(model, userCode)) as AdapterPayload | undefined,
    async destroy(id) {
      if (await store.destroy(model, storedId(id)) || model !== 'Interaction') return;
      // resume.js destroys the Interaction before it issues the code: of parallel resumes of one
      // interaction only the request that removed it goes on, so one authorization gives one
      // code (RFC 6749 §4.1.2); the others get the error page.
      throw new errors.SessionNotFound('interaction session already finished');
    },
    revokeByGrantId: (grantId) => store.revokeByGrantId(model, grantId),
    async consume(id) {
      if (await store.consume(model, storedId(id))) return;
      // oidc-provider checks `consumed` and then calls consume(): between the two another request
      // (or another instance) may have redeemed it. The store's consume is atomic, so the loser
      // lands here and gets what a sequential reuse gets: invalid_grant and the grant revoked
      // (RFC 6749 §4.1.2; RFC 9700 §4.14.2 for refresh tokens).
      const label = CONSUMED_LABEL[model];
      if (!label) throw new errors.InvalidRequest(`${model} already used`);
      // A refresh token within its reuse interval: a retry gets a new pair, a concurrent one nothing.
      const retry = await claimRetry(reuse, store, model, storedId(id));
      if (retry === 'retry') return;
      if (retry === 'refused') throw new errors.InvalidGrant(`${label} already used; use the refresh token of the latest response`);
      const artifact = await store.find(model, storedId(id));
      if (artifact?.grantId) await revokeGrant(stores, artifact.grantId);
      throw new errors.InvalidGrant(`${label} already consumed`);
    },
  };
}

function clientAdapter(stores: AdapterStores): Adapter {
  const { applications, oidcScopes } = stores;
  const readOnly = async () => {
    throw new Error('clients are managed through the applications store, not the provider');
  };
  return {
    async find(clientId) {
      const application = await applications.findApplicationByClientId(clientId);
      if (!application) return undefined;
      const ownerScopes = application.ownerId && stores.ownerScopes ? await stores.ownerScopes(application.ownerId) : undefined;
      return toClientMetadata(application, oidcScopes, new Date(), ownerScopes) as AdapterPayload | undefined;
    },
    upsert: readOnly,
    destroy: readOnly,
    consume: readOnly,
    findByUid: readOnly,
    findByUserCode: readOnly,
    revokeByGrantId: readOnly,
  };
}

/** oidc-provider's adapter factory: one adapter per model, routed to its store. */
export function createAdapterFactory(stores: AdapterStores): AdapterFactory {
  return (model) => (model === 'Client' ? clientAdapter(stores) : artifactAdapter(stores, model));
}
