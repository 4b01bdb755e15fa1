import type { AccountRecord } from '../storage/contract.ts';
import { accountActor } from '../audit/audit-log.ts';
import { recordRevokedGrants } from '../audit/grant-revocations.ts';
import { obtainableApiScopes } from '../permissions/obtainable-scopes.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import type { AccountFlowDeps, RequestContext } from './account-flows.ts';

/** An application as the provider sees it (oidc-provider's Client: `scope` holds its OIDC scopes). */
export type ClientMetadata = Record<string, unknown> & { clientName?: string | undefined; scope?: string | undefined };
export type FindClient = (clientId: string) => Promise<ClientMetadata | undefined>;

export interface ConnectedAppView {
  clientId: string;
  name: string;
  /** What the app can obtain for the person today, in the order granted. */
  scopes: string[];
  since: Date;
}

/**
 * What a person with `roles` can obtain from the client today: its OIDC scopes and the API
 * permissions both its allow-list and the roles allow (obtainableApiScopes, the rule tokens are
 * issued by); nothing from an application that no longer exists or is disabled (`client` undefined).
 * A client without `scope` metadata may ask for every OIDC scope (oidc-provider's default for it).
 */
export function obtainableScopes(catalog: PermissionCatalog, client: ClientMetadata | undefined, roles: readonly string[]): Set<string> {
  if (!client) return new Set();
  return new Set([...(client.scope === undefined ? catalog.oidcScopes : client.scope.split(' ')), ...obtainableApiScopes(catalog, client, roles)]);
}

/**
 * The apps on /account, one per app, each with the permissions it can obtain for this person
 * today: what was granted ∩ the app's allow-list ∩ (for API permissions) what the person's roles
 * allow, the rule tokens are issued by (obtainableApiScopes). A permission granted once and taken
 * away since (a role removed, an app's permission withdrawn) is not shown: no token carries it.
 * An app that no longer exists is still listed, with nothing, so that its grant can be removed.
 */
export async function listConnectedApps(deps: AccountFlowDeps, account: AccountRecord, findClient: FindClient): Promise<ConnectedAppView[]> {
  const apps = await deps.sessions.listConnectedApps(account.id);
  return Promise.all(apps.map(async (app) => {
    const client = await findClient(app.clientId);
    const obtainable = obtainableScopes(deps.catalog, client, account.roles);
    return { clientId: app.clientId, name: client?.clientName ?? app.clientId, scopes: app.scopes.filter((s) => obtainable.has(s)),
      since: app.since };
  }));
}

/**
 * "Remove access" on /account: every grant the person has for the app is revoked (normally one;
 * two if sessions consented at the same moment), with their refresh tokens, and resource servers
 * drop the app's live access tokens. The next sign-in to the app asks for consent again. False
 * when the person has no grant for it.
 */
export async function removeConnectedApp(deps: AccountFlowDeps, account: AccountRecord, clientId: string, context: RequestContext) {
  const revoked = await deps.sessions.revokeConnectedApp(account.id, clientId);
  await recordRevokedGrants(deps.audit, accountActor(account), revoked);
  return revoked.length > 0;
}
