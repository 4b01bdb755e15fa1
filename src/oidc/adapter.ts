import { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';
import type { ApplicationStore, ArtifactStore } from '../storage/contract.ts';
import { toClientMetadata } from '../applications/client-metadata.ts';

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
  applications: ApplicationStore;
  oidcScopes: readonly string[];
  /** Told of every grant revoked here (resource servers then drop its tokens at once). */
  onGrantRevoked?: (grantId: string) => Promise<void>;
}

export function storeForModel(stores: AdapterStores, model: string): ArtifactStore {
  return SHORT_LIVED_MODELS.has(model) ? stores.shortLived : stores.durable;
}

/** Revokes a grant as oidc-provider does: every token and code issued under it, then the grant. */
export async function revokeGrant(stores: AdapterStores, grantId: string): Promise<void> {
  await Promise.all([
    ...GRANT_BOUND_MODELS.map((model) => storeForModel(stores, model).revokeByGrantId(model, grantId)),
    storeForModel(stores, 'Grant').destroy('Grant', grantId),
  ]);
  await stores.onGrantRevoked?.(grantId);
}

function artifactAdapter(stores: AdapterStores, model: string): Adapter {
  const store = storeForModel(stores, model);
  return {
    upsert: (id, payload, expiresIn) => store.upsert(model, id, payload as Record<string, unknown>, expiresIn),
    find: async (id) => (await store.find(model, id)) as AdapterPayload | undefined,
    findByUid: async (uid) => (await store.findByUid(model, uid)) as AdapterPayload | undefined,
    findByUserCode: async (userCode) => (await store.findByUserCode(model, userCode)) as AdapterPayload | undefined,
    destroy: (id) => store.destroy(model, id),
    revokeByGrantId: (grantId) => store.revokeByGrantId(model, grantId),
    async consume(id) {
      if (await store.consume(model, id)) return;
      // oidc-provider checks `consumed` and then calls consume(): between the two another request
      // (or another instance) may have redeemed it. The store's consume is atomic, so the loser
      // lands here and gets what a sequential reuse gets: invalid_grant and the grant revoked
      // (RFC 6749 §4.1.2; RFC 9700 §4.14.2 for refresh tokens).
      const label = CONSUMED_LABEL[model];
      if (!label) throw new errors.InvalidRequest(`${model} already used`);
      const artifact = await store.find(model, id);
      if (artifact?.grantId) await revokeGrant(stores, artifact.grantId);
      throw new errors.InvalidGrant(`${label} already consumed`);
    },
  };
}

function clientAdapter(applications: ApplicationStore, oidcScopes: readonly string[]): Adapter {
  const readOnly = async () => {
    throw new Error('clients are managed through the applications store, not the provider');
  };
  return {
    async find(clientId) {
      const application = await applications.findApplicationByClientId(clientId);
      return application && (toClientMetadata(application, oidcScopes) as AdapterPayload | undefined);
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
  return (model) => (model === 'Client' ? clientAdapter(stores.applications, stores.oidcScopes) : artifactAdapter(stores, model));
}
