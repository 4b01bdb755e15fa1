import type { ApplicationRecord } from '../storage/contract.ts';
import type { Services } from '../services.ts';
import { createApplication } from '../applications/create-application.ts';
import { MAX_GRACE_SECONDS, rotateClientSecret } from '../applications/rotate-client-secret.ts';
import { revokeClientSecret } from '../applications/revoke-client-secret.ts';
import { revokeApplication } from '../applications/revoke-application.ts';
import { setApplicationScope } from '../applications/set-application-scope.ts';
import { approveApplicationScopes } from '../applications/approve-application-scopes.ts';
import { MAX_TOKEN_RATE_LIMIT, setApplicationRateLimit } from '../applications/set-application-rate-limit.ts';
import { tokenRateLimitOf } from '../applications/token-rate-limit.ts';
import { APPLICATION_TYPES } from '../applications/application-rules.ts';
import { secretEndsAt, secretStatus } from '../applications/check-client-secret.ts';
import { normalizeEmail } from '../accounts/account-rules.ts';
import { AppError } from '../shared/app-error.ts';
import { cliActor, isoDate, list, str, wholeNumber, type Command } from './command.ts';
import { runExpiryNotices } from './notify-expiring-command.ts';

/** How many applications `clients list` shows at most. */
const LIST_LIMIT = 1000;

const EXPIRES_IN = { type: 'string', value: 'SECONDS', help: 'the new secret\'s lifetime, at most config clients.maxSecretLifetimeSeconds (default: clients.commandLineSecretLifetimeSeconds, or that maximum when it is 0)' } as const;

/** --expires-in, when given: 1 second or more. */
const expiresIn = (options: Parameters<typeof str>[0]): number | undefined =>
  str(options, 'expires-in') === undefined ? undefined : wholeNumber(options, 'expires-in', 0, { min: 1, unit: 'seconds' });

/** What the command line shows of an application: never a secret nor its hash. */
async function describeApplications(services: Services, applications: ApplicationRecord[]) {
  const ownerIds = [...new Set(applications.map((a) => a.ownerId).filter((id): id is string => id !== null))];
  const owners = new Map(await Promise.all(ownerIds.map(async (id) =>
    [id, (await services.stores.durable.accounts.findAccountById(id))?.email ?? null] as const)));
  const now = new Date();
  return applications.map((a) => ({
    client_id: a.clientId, name: a.name, type: a.type, scope: a.scope, pending_scope: a.pendingScope,
    redirect_uris: a.redirectUris, post_logout_redirect_uris: a.postLogoutRedirectUris,
    owner: a.ownerId === null ? null : owners.get(a.ownerId) ?? null,
    resource_server: a.isResourceServer, first_party: a.isFirstParty,
    // The limit in force (0: none), and whether it is the application's own or its type's default.
    token_rate_limit_per_minute: tokenRateLimitOf(a, services.applicationDeps.tokenRateLimits.defaults),
    token_rate_limit_source: a.tokenRateLimitPerMinute === null ? 'type_default' : 'application',
    secrets: a.secrets.map((s) => ({
      id: s.id, hint: s.hint, status: secretStatus(a, s, now), created_at: isoDate(s.createdAt), expires_at: isoDate(s.expiresAt),
      replaced_at: isoDate(s.replacedAt), valid_until: isoDate(secretEndsAt(s)), revoked_at: isoDate(s.revokedAt),
      last_used_at: isoDate(s.lastUsedAt),
    })),
    created_at: isoDate(a.createdAt), updated_at: isoDate(a.updatedAt), revoked_at: isoDate(a.revokedAt),
  }));
}

async function findApplication(services: Services, clientId: string): Promise<ApplicationRecord> {
  const application = await services.stores.durable.applications.findApplicationByClientId(clientId);
  if (!application) throw new AppError('client_not_found', 'no application has this client id', { status: 404 });
  return application;
}

export const CLIENT_COMMANDS: Record<string, Command> = {
  'clients create': {
    summary: 'register an application (an OAuth client); prints its client id and, once, its secret',
    options: {
      name: { type: 'string', value: 'N', help: 'the name people see on the consent page' },
      type: { type: 'string', choices: APPLICATION_TYPES, help: 'service (client credentials), web (confidential) or native (public)' },
      scope: { type: 'string', value: '"a b"', help: 'the scopes it may ask for; a service must name them (not a resource server)' },
      'redirect-uri': { type: 'string', multiple: true, value: 'U', help: 'an exact redirect URI (web and native); repeat for several' },
      'post-logout-redirect-uri': { type: 'string', multiple: true, value: 'U',
        help: 'where the app may send people after logging them out; repeat for several' },
      owner: { type: 'string', value: 'EMAIL', help: 'the account that manages it on /developers' },
      'resource-server': { type: 'boolean', help: 'an API that may introspect tokens and poll GET /revocations' },
      'first-party': { type: 'boolean', help: 'a TokenIM app: people are not asked for consent' },
      'expires-in': EXPIRES_IN,
    },
    required: ['name', 'type'],
    async run(services, options) {
      const { application, secret } = await createApplication(services.applicationDeps, {
        name: str(options, 'name')!, type: str(options, 'type')!, scope: str(options, 'scope'),
        redirectUris: list(options, 'redirect-uri'), postLogoutRedirectUris: list(options, 'post-logout-redirect-uri'),
        ownerEmail: str(options, 'owner'),
        isResourceServer: options['resource-server'] === true, isFirstParty: options['first-party'] === true,
        secretExpiresInSeconds: expiresIn(options),
      }, cliActor());
      return {
        client_id: application.clientId,
        ...(secret ? { client_secret: secret.clientSecret, client_secret_expires_at: secret.clientSecretExpiresAt, secret_id: secret.secretId } : {}),
        type: application.type,
        scope: application.scope,
        redirect_uris: application.redirectUris,
        post_logout_redirect_uris: application.postLogoutRedirectUris,
      };
    },
  },
  'clients list': {
    summary: 'list applications, oldest first (revoked ones too)',
    options: { owner: { type: 'string', value: 'EMAIL', help: "only this account's applications" } },
    required: [],
    async run(services, options) {
      const owner = str(options, 'owner');
      const { accounts, applications } = services.stores.durable;
      let found: ApplicationRecord[];
      if (owner === undefined) {
        found = await applications.listApplications(LIST_LIMIT);
      } else {
        const account = await accounts.findAccountByEmail(normalizeEmail(owner));
        if (!account) throw new AppError('account_not_found', 'no account has this email address', { status: 404 });
        found = await applications.listApplicationsByOwnerId(account.id);
      }
      return { clients: await describeApplications(services, found), count: found.length };
    },
  },
  'clients show': {
    summary: 'show an application (its secrets as dates only)',
    options: { 'client-id': { type: 'string', value: 'ID', help: 'the application' } },
    required: ['client-id'],
    async run(services, options) {
      const [described] = await describeApplications(services, [await findApplication(services, str(options, 'client-id')!)]);
      return described;
    },
  },
  'clients set-scopes': {
    summary: "replace the scopes an application may ask for (those taken away stop at once)",
    options: {
      'client-id': { type: 'string', value: 'ID', help: 'the application' },
      scope: { type: 'string', value: '"a b"', help: 'catalog scopes, space-separated' },
    },
    required: ['client-id', 'scope'],
    async run(services, options) {
      const application = await setApplicationScope(services.applicationDeps, str(options, 'client-id')!, str(options, 'scope')!, cliActor());
      return { client_id: application.clientId, scope: application.scope };
    },
  },
  'clients approve-scopes': {
    summary: 'approve sensitive permissions a developer asked for (pending_scope in clients show); tokens carry them from now on',
    options: {
      'client-id': { type: 'string', value: 'ID', help: 'the application' },
      scope: { type: 'string', value: '"a b"', help: 'pending scopes, space-separated' },
    },
    required: ['client-id', 'scope'],
    async run(services, options) {
      const application = await approveApplicationScopes(services.applicationDeps, str(options, 'client-id')!, str(options, 'scope')!, cliActor());
      return { client_id: application.clientId, scope: application.scope, pending_scope: application.pendingScope };
    },
  },
  'clients set-rate-limit': {
    summary: 'set how many token requests per minute an application may make (over it: 429 slow_down)',
    options: {
      'client-id': { type: 'string', value: 'ID', help: 'the application' },
      'per-minute': { type: 'string', value: 'N',
        help: `requests per minute, 0 for no limit, or "default" for its type's (config rateLimits.tokenPerMinute); at most ${MAX_TOKEN_RATE_LIMIT}` },
    },
    required: ['client-id', 'per-minute'],
    async run(services, options) {
      const perMinute = str(options, 'per-minute') === 'default' ? null
        : wholeNumber(options, 'per-minute', 0, { max: MAX_TOKEN_RATE_LIMIT });
      const application = await setApplicationRateLimit(services.applicationDeps, str(options, 'client-id')!, perMinute, cliActor());
      return { client_id: application.clientId,
        token_rate_limit_per_minute: tokenRateLimitOf(application, services.applicationDeps.tokenRateLimits.defaults),
        token_rate_limit_source: application.tokenRateLimitPerMinute === null ? 'type_default' : 'application' };
    },
  },
  'clients rotate-secret': {
    summary: 'issue a new secret; the previous one stays valid for --grace seconds, any older one stops now',
    options: {
      'client-id': { type: 'string', value: 'ID', help: 'the application' },
      grace: { type: 'string', value: 'SECONDS', help: `how long the previous secret keeps working (default 1 day; 0: not at all; at most ${MAX_GRACE_SECONDS})` },
      'expires-in': EXPIRES_IN,
    },
    required: ['client-id'],
    async run(services, options) {
      const graceSeconds = wholeNumber(options, 'grace', services.config.clients.defaultRotationGraceSeconds,
        { unit: 'seconds', max: MAX_GRACE_SECONDS });
      const rotated = await rotateClientSecret(services.applicationDeps, str(options, 'client-id')!,
        { graceSeconds, expiresInSeconds: expiresIn(options) }, cliActor());
      return {
        client_id: str(options, 'client-id'),
        client_secret: rotated.clientSecret,
        client_secret_expires_at: rotated.clientSecretExpiresAt,
        secret_id: rotated.secretId,
        previous_secret_id: rotated.previousSecretId,
        previous_secret_valid_until: rotated.previousSecretValidUntil?.toISOString() ?? null,
      };
    },
  },
  'clients revoke-secret': {
    summary: 'end a replaced secret now instead of at the end of its grace period',
    options: {
      'client-id': { type: 'string', value: 'ID', help: 'the application' },
      'secret-id': { type: 'string', value: 'SID', help: 'the previous secret (its id from clients show)' },
    },
    required: ['client-id', 'secret-id'],
    async run(services, options) {
      const revoked = await revokeClientSecret(services.applicationDeps, str(options, 'client-id')!, str(options, 'secret-id')!, cliActor());
      return { client_id: revoked.clientId, secret_id: revoked.secretId, revoked_at: revoked.revokedAt.toISOString() };
    },
  },
  'clients revoke': {
    summary: 'revoke an application: its secrets, tokens and every authorization people gave it stop working',
    options: { 'client-id': { type: 'string', value: 'ID', help: 'the application' } },
    required: ['client-id'],
    async run(services, options) {
      const revoked = await revokeApplication(services.applicationDeps, str(options, 'client-id')!, cliActor());
      return { client_id: revoked.clientId, revoked_at: revoked.revokedAt.toISOString(), authorizations_revoked: revoked.grantsRevoked };
    },
  },
  'clients notify-expiring': {
    summary: 'mail owners about API keys expiring within 14 days or 1 day (once each; safe beside running servers)',
    options: {},
    required: [],
    run: (services) => runExpiryNotices(services),
  },
};
