import type { AccountStore, ApplicationRecord, ApplicationStore } from '../storage/contract.ts';
import type { AuditEvent, AuditLog } from '../audit/audit-log.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import { AppError } from '../shared/app-error.ts';
import { normalizeEmail } from '../accounts/account-rules.ts';
import type { RevocationPublisher } from '../revocation/revocation-events.ts';
import { generateClientId } from './client-secret.ts';
import { issueSecret, type SecretLifetimeDeps, type SecretRequest } from './issue-secret.ts';
import { checkApplicationName, checkApplicationScope, checkPostLogoutRedirectUris, checkRedirectUris,
  parseApplicationType } from './application-rules.ts';
import type { TokenRateLimits } from './token-rate-limit.ts';
import type { GrantRevocationStores } from '../oidc/adapter.ts';

export interface ApplicationDeps extends SecretLifetimeDeps {
  applications: ApplicationStore;
  accounts: AccountStore;
  audit: AuditLog;
  catalog: PermissionCatalog;
  revocations: RevocationPublisher;
  /** API permissions that wait for an administrator when asked for on /developers (config permissions.sensitiveScopes). */
  sensitiveScopes: readonly string[];
  /** The token endpoint's per-application limits and their shared counters (token-rate-limit.ts). */
  tokenRateLimits: TokenRateLimits;
  /** Where the grants people gave applications live: ending an application revokes them (revoke-application.ts). */
  grants: GrantRevocationStores;
}

export interface NewApplication {
  name: string;
  type: string;
  scope?: string | undefined;
  redirectUris?: string[] | undefined;
  /** RP-Initiated Logout 1.0: where the app may be sent back after a logout it asked for. */
  postLogoutRedirectUris?: string[] | undefined;
  ownerEmail?: string | undefined;
  isResourceServer?: boolean | undefined;
  isFirstParty?: boolean | undefined;
  /** The key's lifetime instead of the configured default. */
  secretExpiresInSeconds?: number | undefined;
}

export interface IssuedSecret {
  secretId: string;
  clientSecret: string;
  /** Epoch seconds, 0 when it does not expire (RFC 7591 §3.2.1). */
  clientSecretExpiresAt: number;
}

export const epochSeconds = (date: Date | null): number => (date === null ? 0 : Math.floor(date.getTime() / 1000));

export async function createApplication(
  deps: ApplicationDeps,
  input: NewApplication,
  actor: AuditEvent['actor'],
): Promise<{ application: ApplicationRecord; secret: IssuedSecret | undefined }> {
  const type = parseApplicationType(input.type);
  const name = checkApplicationName(input.name);
  const scope = checkApplicationScope(deps.catalog, type, input.scope, { isResourceServer: input.isResourceServer });
  const redirectUris = checkRedirectUris(type, input.redirectUris ?? []);
  const postLogoutRedirectUris = checkPostLogoutRedirectUris(type, input.postLogoutRedirectUris ?? []);
  if (input.isResourceServer && type !== 'service') {
    throw new AppError('invalid_application_type', 'only a service application can be a resource server');
  }
  let ownerId: string | null = null;
  if (input.ownerEmail !== undefined) {
    const owner = await deps.accounts.findAccountByEmail(normalizeEmail(input.ownerEmail));
    if (!owner) throw new AppError('account_not_found', 'no account has this email address', { status: 404 });
    ownerId = owner.id;
  }
  // An administrator's own registration: nothing waits for approval.
  return registerApplication(deps, {
    name, type, scope, pendingScope: '', redirectUris, postLogoutRedirectUris, ownerId,
    isResourceServer: input.isResourceServer ?? false, isFirstParty: input.isFirstParty ?? false,
  }, { isSelfService: false, expiresInSeconds: input.secretExpiresInSeconds }, actor);
}

/** The checked fields of a new application: what createApplication and createDeveloperApplication decide. */
export type CheckedApplication = Pick<ApplicationRecord, 'name' | 'type' | 'scope' | 'pendingScope' | 'redirectUris'
  | 'postLogoutRedirectUris' | 'ownerId' | 'isResourceServer' | 'isFirstParty' | 'ownerLocale'>;

/** Stores an application whose fields are already checked, with its first secret, and writes the ledger. */
export async function registerApplication(
  deps: ApplicationDeps,
  checked: CheckedApplication,
  secretRequest: SecretRequest,
  actor: AuditEvent['actor'],
): Promise<{ application: ApplicationRecord; secret: IssuedSecret | undefined }> {
  const { name, type, scope, redirectUris, postLogoutRedirectUris, ownerId } = checked;
  const now = new Date();
  // Native apps are public clients (RFC 8252 §8.5): a secret in an installed app is no secret.
  const issued = type === 'native' ? undefined : issueSecret(deps, now, secretRequest);
  const application: ApplicationRecord = {
    clientId: generateClientId(),
    ...checked,
    secrets: issued ? [issued.record] : [],
    revokedAt: null,
    disabledAt: null,
    refusedScope: '',
    tokenRateLimitPerMinute: null,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  await deps.applications.insertApplication(application);
  await deps.audit.record({
    type: 'client.created', actor, subject: ownerId, clientId: application.clientId,
    details: { name, type, scope, redirectUris, postLogoutRedirectUris, isResourceServer: application.isResourceServer },
  });
  if (issued) {
    await deps.audit.record({ type: 'client.secret_created', actor, subject: ownerId, clientId: application.clientId,
      details: { secretId: issued.record.id, expiresAt: issued.record.expiresAt?.toISOString() ?? null } });
  }
  return {
    application,
    secret: issued
      ? { secretId: issued.record.id, clientSecret: issued.clientSecret, clientSecretExpiresAt: epochSeconds(issued.record.expiresAt) }
      : undefined,
  };
}
