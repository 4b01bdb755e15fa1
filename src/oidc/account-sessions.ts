import type { ArtifactStore } from '../storage/contract.ts';
import type { RevokedGrant } from '../audit/grant-revocations.ts';
import { storeForModel, revokeGrant, type AdapterStores } from './adapter.ts';
import { grantScopes, type GrantPayload } from './grant-payload.ts';

/**
 * One app a person authorized: every grant they have for it taken together (normally one; two
 * only when sessions consented at the same moment, see findAccountGrantId).
 */
export interface ConnectedApp {
  clientId: string;
  /** What the grants hold (OIDC and API scopes), before what the client and roles allow today. */
  scopes: string[];
  since: Date;
}

/** What account pages, consent and password changes need of the provider's sessions and grants. */
export interface AccountSessions {
  /** Signs the account out everywhere (ASVS 5 7.4.3), except the session `exceptUid` if given. */
  endSessions(accountId: string, exceptUid?: string): Promise<number>;
  /** When each live browser session of the account signed in (the admin console's user page), newest first. */
  listSessionSignIns(accountId: string): Promise<(Date | undefined)[]>;
  /** The grant a new authorization of this account for this client joins (findAccountGrantId). */
  findGrantId(accountId: string, clientId: string): Promise<string | undefined>;
  /** The apps the person authorized, one per app: their granted permissions and since when. */
  listConnectedApps(accountId: string): Promise<ConnectedApp[]>;
  /**
   * Revokes every grant of the account for this client: their refresh tokens and codes stop
   * working, and resource servers are told of each. What was revoked (none: nothing of theirs).
   */
  revokeConnectedApp(accountId: string, clientId: string): Promise<RevokedGrant[]>;
  /** Every grant of the account; returns those of the apps shown to people (not the account pages' own). */
  revokeAllConnectedApps(accountId: string): Promise<RevokedGrant[]>;
  /** Revokes one grant (tokens, codes, the grant; resource servers are told), whoever's it is. */
  revokeGrant(grantId: string): Promise<void>;
}

type StoredGrant = { id: string; grant: GrantPayload };

const issuedAt = ({ grant }: StoredGrant) => grant.iat ?? 0;
const oldestFirst = (a: StoredGrant, b: StoredGrant) => issuedAt(a) - issuedAt(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The account's live grants for one client, oldest first. */
async function grantsFor(grants: ArtifactStore, accountId: string, clientId: string): Promise<StoredGrant[]> {
  return (await grants.listByAccountId('Grant', accountId))
    .map(({ id, payload }) => ({ id, grant: payload as GrantPayload }))
    .filter(({ grant }) => grant.clientId === clientId)
    .sort(oldestFirst);
}

/**
 * The one place that decides which grant is "this person's for this app": consent is remembered
 * per account and client, not per browser session (oidc-provider's default finds the grant through
 * the session, so every new session would consent again and add a grant). Two sessions consenting
 * at the same moment can still leave two; every session then joins the oldest (same order
 * everywhere), and revoking by account and client takes them all.
 */
export async function findAccountGrantId(stores: AdapterStores, accountId: string, clientId: string): Promise<string | undefined> {
  return (await grantsFor(storeForModel(stores, 'Grant'), accountId, clientId))[0]?.id;
}

const revokedGrant = (grantId: string, grant: GrantPayload): RevokedGrant =>
  ({ grantId, accountId: grant.accountId ?? null, clientId: grant.clientId ?? null, permissions: grantScopes(grant) });

export function createAccountSessions(stores: AdapterStores, hiddenClientIds: readonly string[] = []): AccountSessions {
  const sessions: ArtifactStore = storeForModel(stores, 'Session');
  const grants: ArtifactStore = storeForModel(stores, 'Grant');
  const isShown = (clientId: string | undefined): clientId is string => Boolean(clientId) && !hiddenClientIds.includes(clientId!);

  async function listConnectedApps(accountId: string): Promise<ConnectedApp[]> {
    const byClient = new Map<string, StoredGrant[]>();
    for (const { id, payload } of await grants.listByAccountId('Grant', accountId)) {
      const grant = payload as GrantPayload;
      if (isShown(grant.clientId)) byClient.set(grant.clientId, [...(byClient.get(grant.clientId) ?? []), { id, grant }]);
    }
    return [...byClient].map(([clientId, owned]) => {
      owned.sort(oldestFirst);
      return {
        clientId,
        scopes: [...new Set(owned.flatMap(({ grant }) => grantScopes(grant)))],
        since: new Date(issuedAt(owned[0]!) * 1000),
      };
    }).sort((a, b) => a.since.getTime() - b.since.getTime());
  }

  return {
    async endSessions(accountId, exceptUid) {
      const owned = await sessions.listByAccountId('Session', accountId);
      const ended = owned.filter(({ payload }) => payload.uid !== exceptUid);
      // The ids listed are the stored ones (keyed hashes, see adapter.ts): destroyed on the store itself.
      await Promise.all(ended.map(({ id }) => sessions.destroy('Session', id)));
      return ended.length;
    },
    async listSessionSignIns(accountId) {
      // loginTs: epoch seconds of the session's sign-in (oidc-provider's Session).
      const times = (await sessions.listByAccountId('Session', accountId))
        .map(({ payload }) => (typeof payload.loginTs === 'number' ? new Date(payload.loginTs * 1000) : undefined));
      return times.sort((a, b) => (b?.getTime() ?? 0) - (a?.getTime() ?? 0));
    },
    findGrantId: (accountId, clientId) => findAccountGrantId(stores, accountId, clientId),
    listConnectedApps,
    async revokeConnectedApp(accountId, clientId) {
      if (!isShown(clientId)) return [];
      const owned = await grantsFor(grants, accountId, clientId);
      // Each publishes its revocation (adapter.ts onGrantRevoked): live JWTs of every session die.
      await Promise.all(owned.map(({ id }) => revokeGrant(stores, id)));
      return owned.map(({ id, grant }) => revokedGrant(id, grant));
    },
    revokeGrant: (grantId) => revokeGrant(stores, grantId),
    async revokeAllConnectedApps(accountId) {
      const owned = await grants.listByAccountId('Grant', accountId);
      await Promise.all(owned.map(({ id }) => revokeGrant(stores, id)));
      return owned.filter(({ payload }) => isShown((payload as GrantPayload).clientId))
        .map(({ id, payload }) => revokedGrant(id, payload as GrantPayload));
    },
  };
}
