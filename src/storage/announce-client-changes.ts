import type { DurableStores } from './contract.ts';
import type { ChangeFeed } from './change-feed.ts';

/** The topic of every write that changes an oidc-provider client (src/oidc/client-cache.ts keeps clients per instance). */
export const CLIENTS_TOPIC = 'clients';

/**
 * The durable stores, whose writes that change what a client is made of announce themselves on
 * `feed` once stored: the application record (src/applications/client-metadata.ts) and, for an
 * owned application, its owner's roles and whether the owner is disabled (obtainable-scopes.ts
 * ownerScopeCeiling). Here, under every caller (routes, CLI, domain functions), so that no write
 * path can forget it. Last-use times (recordSecretUse) are not part of a client and stay silent.
 */
export function announceClientChanges(durable: DurableStores, feed: ChangeFeed): DurableStores {
  const { applications, accounts } = durable;
  const announced = async <T>(result: T): Promise<T> => {
    await feed.announce();
    return result;
  };
  return {
    ...durable,
    applications: {
      ...applications,
      insertApplication: async (application) => announced(await applications.insertApplication(application)),
      replaceApplication: async (application, expectedVersion) =>
        announced(await applications.replaceApplication(application, expectedVersion)),
      updateApplication: async (clientId, change) => announced(await applications.updateApplication(clientId, change)),
    },
    accounts: {
      ...accounts,
      updateAccountRolesById: async (id, roles, updatedAt) => announced(await accounts.updateAccountRolesById(id, roles, updatedAt)),
      async updateAccountById(id, patch) {
        const updated = await accounts.updateAccountById(id, patch);
        return patch.disabled === undefined ? updated : announced(updated);
      },
    },
  };
}
