import type { Locale } from '../permissions/catalog.ts';
import type { AccountRecord, ApplicationRecord } from '../storage/contract.ts';
import { accountActor } from '../audit/audit-log.ts';
import { AppError } from '../shared/app-error.ts';
import { registerApplication, type ApplicationDeps, type IssuedSecret, type NewApplication } from './create-application.ts';
import { checkApplicationName, checkPostLogoutRedirectUris, checkRedirectUris, parseApplicationType } from './application-rules.ts';
import { checkDeveloperScope } from './developer-scope-rules.ts';

/** What a developer may set on /developers; nothing else (first-party, resource server, owner) is theirs to set. */
export type DeveloperApplicationInput = Pick<NewApplication,
  'name' | 'type' | 'scope' | 'redirectUris' | 'postLogoutRedirectUris' | 'secretExpiresInSeconds'>;

const DEVELOPER_FIELDS: ReadonlySet<string> = new Set<keyof DeveloperApplicationInput>(
  ['name', 'type', 'scope', 'redirectUris', 'postLogoutRedirectUris', 'secretExpiresInSeconds']);

/**
 * Refuses any field the self-service path does not own, instead of ignoring it: a form or a route
 * that passed `isFirstParty` (skip consent), `isResourceServer` (introspect every token) or an
 * owner would otherwise be one refactor away from honouring it.
 */
export function refuseOtherFields(input: object): void {
  const other = Object.keys(input).find((field) => !DEVELOPER_FIELDS.has(field));
  if (other !== undefined) {
    throw new AppError('field_not_allowed', `${other} cannot be set from developer settings`, { status: 400, params: { field: other } });
  }
}

/**
 * A developer registers an application of their own on /developers: always owned by them, never
 * first-party nor a resource server, with permissions held to their roles; sensitive ones wait for
 * an administrator (`clients approve-scopes`). The CLI's createApplication trusts its caller; this does not.
 */
export async function createDeveloperApplication(
  deps: ApplicationDeps,
  developer: AccountRecord,
  input: DeveloperApplicationInput,
  context: { locale?: Locale } = {},
): Promise<{ application: ApplicationRecord; secret: IssuedSecret | undefined }> {
  refuseOtherFields(input);
  const type = parseApplicationType(input.type);
  const name = checkApplicationName(input.name);
  const { scope, pendingScope } = checkDeveloperScope(deps, developer, type, input.scope);
  const redirectUris = checkRedirectUris(type, input.redirectUris ?? []);
  const postLogoutRedirectUris = checkPostLogoutRedirectUris(type, input.postLogoutRedirectUris ?? []);
  const actor = accountActor(developer);
  const created = await registerApplication(deps, {
    name, type, scope, pendingScope, redirectUris, postLogoutRedirectUris, ownerId: developer.id,
    isResourceServer: false, isFirstParty: false, ...(context.locale ? { ownerLocale: context.locale } : {}),
  }, { isSelfService: true, expiresInSeconds: input.secretExpiresInSeconds }, actor);
  if (pendingScope) {
    await deps.audit.record({ type: 'client.scopes_requested', actor, subject: developer.id, clientId: created.application.clientId,
      permissions: pendingScope.split(' '), details: { scopes: pendingScope.split(' ') } });
  }
  return created;
}
