import type { ArtifactStore } from '../storage/contract.ts';
import { storeForModel, revokeGrant, type AdapterStores } from './adapter.ts';

export interface ConnectedApp {
  grantId: string;
  clientId: string;
  scopes: string[];
  since: Date;
}

/** What account pages and password changes need of the provider's sessions and grants. */
export interface AccountSessions {
  /** Signs the account out everywhere (ASVS 5 7.4.3), except the session `exceptUid` if given. */
  endSessions(accountId: string, exceptUid?: string): Promise<number>;
  /** The apps the person authorized (one grant each): their permissions and since when. */
  listConnectedApps(accountId: string): Promise<ConnectedApp[]>;
  /** Revokes one grant of the account: its refresh tokens and codes stop working. False if not theirs. */
  revokeConnectedApp(accountId: string, grantId: string): Promise<boolean>;
  revokeAllConnectedApps(accountId: string): Promise<number>;
}

type GrantPayload = { accountId?: string; clientId?: string; iat?: number; openid?: { scope?: string };
  resources?: Record<string, string> };

export function createAccountSessions(stores: AdapterStores, hiddenClientIds: readonly string[] = []): AccountSessions {
  const sessions: ArtifactStore = storeForModel(stores, 'Session');
  const grants: ArtifactStore = storeForModel(stores, 'Grant');

  const listConnectedApps = async (accountId: string) =>
    (await grants.listByAccountId('Grant', accountId))
      .map(({ id, payload }) => ({ id, grant: payload as GrantPayload }))
      .filter(({ grant }) => grant.clientId && !hiddenClientIds.includes(grant.clientId))
      .map(({ id, grant }) => ({
        grantId: id,
        clientId: grant.clientId!,
        scopes: [...new Set([...(grant.openid?.scope?.split(' ') ?? []),
          ...Object.values(grant.resources ?? {}).flatMap((scope) => scope.split(' '))].filter(Boolean))],
        since: new Date((grant.iat ?? 0) * 1000),
      }))
      .sort((a, b) => a.since.getTime() - b.since.getTime());

  return {
    async endSessions(accountId, exceptUid) {
      const owned = await sessions.listByAccountId('Session', accountId);
      const ended = owned.filter(({ payload }) => payload.uid !== exceptUid);
      // The ids listed are the stored ones (keyed hashes, see adapter.ts): destroyed on the store itself.
      await Promise.all(ended.map(({ id }) => sessions.destroy('Session', id)));
      return ended.length;
    },
    listConnectedApps,
    async revokeConnectedApp(accountId, grantId) {
      const grant = (await grants.find('Grant', grantId)) as GrantPayload | undefined;
      if (!grant || grant.accountId !== accountId) return false;
      await revokeGrant(stores, grantId);
      return true;
    },
    async revokeAllConnectedApps(accountId) {
      const owned = await grants.listByAccountId('Grant', accountId);
      await Promise.all(owned.map(({ id }) => revokeGrant(stores, id)));
      return owned.length;
    },
  };
}
