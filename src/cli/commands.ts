import { userInfo } from 'node:os';
import type { Services } from '../services.ts';
import type { AuditEvent } from '../audit/audit-log.ts';
import { createAccount } from '../accounts/create-account.ts';
import { setAccountRoles } from '../accounts/set-account-roles.ts';
import { createApplication } from '../applications/create-application.ts';
import { rotateClientSecret } from '../applications/rotate-client-secret.ts';
import { revokeApplication } from '../applications/revoke-application.ts';
import { createMongoIndexes } from '../storage/mongo/mongo-collections.ts';
import { runMongoMigrations } from '../storage/mongo/mongo-migrations.ts';
import { openMongo } from '../storage/mongo/open-mongo.ts';

export type Options = Record<string, string | boolean | string[] | undefined>;

/** A flag, option or argument the command does not accept: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Command {
  usage: string;
  options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
  required: string[];
  run(services: Services, options: Options): Promise<unknown>;
}

function cliActor(): AuditEvent['actor'] {
  try {
    return { kind: 'cli', id: userInfo().username };
  } catch {
    return { kind: 'cli', id: null };
  }
}

const str = (options: Options, name: string) => options[name] as string | undefined;
const list = (options: Options, name: string) => (options[name] as string[] | undefined) ?? [];

function parseGrace(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--grace takes a whole number of seconds (got "${raw}")`);
  return Number(raw);
}

export const COMMANDS: Record<string, Command> = {
  'users create': {
    usage: 'users create --email E --password P [--name N] [--role R]... [--verified]',
    options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' },
      role: { type: 'string', multiple: true }, verified: { type: 'boolean' } },
    required: ['email', 'password'],
    async run(services, options) {
      const account = await createAccount(services.accountDeps, {
        email: str(options, 'email')!, password: str(options, 'password')!, name: str(options, 'name'),
        roles: list(options, 'role'), emailVerified: options.verified === true,
      }, cliActor());
      return { id: account.id, email: account.email, name: account.name, roles: account.roles,
        email_verified: account.emailVerified };
    },
  },
  'users set-roles': {
    usage: 'users set-roles --email E --role R [--role R]...',
    options: { email: { type: 'string' }, role: { type: 'string', multiple: true } },
    required: ['email', 'role'],
    async run(services, options) {
      const account = await setAccountRoles(services.accountDeps, str(options, 'email')!, list(options, 'role'), cliActor());
      return { id: account.id, email: account.email, roles: account.roles };
    },
  },
  'clients create': {
    usage: 'clients create --name N --type service|web|native [--scope "a b"] [--redirect-uri U]... [--owner EMAIL] '
      + '[--resource-server] [--first-party]',
    options: { name: { type: 'string' }, type: { type: 'string' }, scope: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true }, owner: { type: 'string' },
      'resource-server': { type: 'boolean' }, 'first-party': { type: 'boolean' } },
    required: ['name', 'type'],
    async run(services, options) {
      const { application, secret } = await createApplication(services.applicationDeps, {
        name: str(options, 'name')!, type: str(options, 'type')!, scope: str(options, 'scope'),
        redirectUris: list(options, 'redirect-uri'), ownerEmail: str(options, 'owner'),
        isResourceServer: options['resource-server'] === true, isFirstParty: options['first-party'] === true,
      }, cliActor());
      return {
        client_id: application.clientId,
        ...(secret ? { client_secret: secret.clientSecret, client_secret_expires_at: secret.clientSecretExpiresAt } : {}),
        type: application.type,
        scope: application.scope,
        redirect_uris: application.redirectUris,
      };
    },
  },
  'clients rotate-secret': {
    usage: 'clients rotate-secret --client-id ID [--grace SECONDS]',
    options: { 'client-id': { type: 'string' }, grace: { type: 'string' } },
    required: ['client-id'],
    async run(services, options) {
      const grace = parseGrace(str(options, 'grace'), services.config.clients.defaultRotationGraceSeconds);
      const rotated = await rotateClientSecret(services.applicationDeps, str(options, 'client-id')!, grace, cliActor());
      return {
        client_id: str(options, 'client-id'),
        client_secret: rotated.clientSecret,
        client_secret_expires_at: rotated.clientSecretExpiresAt,
        previous_secret_valid_until: rotated.previousSecretValidUntil?.toISOString() ?? null,
      };
    },
  },
  'clients revoke': {
    usage: 'clients revoke --client-id ID',
    options: { 'client-id': { type: 'string' } },
    required: ['client-id'],
    async run(services, options) {
      const revoked = await revokeApplication(services.applicationDeps, str(options, 'client-id')!, cliActor());
      return { client_id: revoked.clientId, revoked_at: revoked.revokedAt.toISOString() };
    },
  },
  'keys rotate': {
    usage: 'keys rotate',
    options: {},
    required: [],
    async run(services) {
      const { added, retired } = await services.keyrings.rotateSigningKeys();
      await services.audit.record({ type: 'keys.rotated', actor: cliActor(), details: { added, retired } });
      return { added_kids: added, retired_kids: retired, note: 'restart every instance to sign with the new keys' };
    },
  },
  'db create-indexes': {
    usage: 'db create-indexes',
    options: {},
    required: [],
    async run(services) {
      const uri = services.config.mongodbUri;
      if (!uri) return { store: 'sqlite', indexes: 'created with the schema; nothing to do' };
      const mongo = await openMongo(uri);
      try {
        // The schema step of an upgrade: data migrations first, then the indexes.
        const migrations = await runMongoMigrations(mongo.db);
        return { store: 'mongodb', migrations, indexes: await createMongoIndexes(mongo.db) };
      } finally {
        await mongo.connection.close();
      }
    },
  },
};
