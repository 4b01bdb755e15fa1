import type { Services } from '../services.ts';
import { createApplication } from '../applications/create-application.ts';
import { rotateClientSecret } from '../applications/rotate-client-secret.ts';
import { checkClientSecret } from '../applications/check-client-secret.ts';
import { createMongoIndexes } from '../storage/mongo/mongo-collections.ts';
import { runMongoMigrations } from '../storage/mongo/mongo-migrations.ts';
import { openMongo } from '../storage/mongo/open-mongo.ts';
import { exampleApiCredentialsFile, readExampleApiCredentials, writeExampleApiCredentials } from '../resource-server/example-api-credentials.ts';
import { retiredKeyRetentionSeconds } from '../keys/key-timeline.ts';
import { cliActor, type Command } from './command.ts';

/**
 * The example API's resource-server application: the one in DATA_DIR when its secret still works
 * there, else a new secret for it (or, when it is gone or revoked, a new application).
 */
async function ensureExampleApiCredentials(services: Services): Promise<{ clientId: string; reused: boolean; file: string }> {
  const { dataDir } = services.config;
  const saved = readExampleApiCredentials(dataDir);
  const application = saved && await services.stores.durable.applications.findApplicationByClientId(saved.client_id);
  if (saved && application && !application.revokedAt && application.isResourceServer) {
    const works = checkClientSecret(services.secretHashKey, application, saved.client_secret, new Date()).ok;
    if (works) return { clientId: saved.client_id, reused: true, file: exampleApiCredentialsFile(dataDir) };
    const rotated = await rotateClientSecret(services.applicationDeps, saved.client_id, { graceSeconds: 0 }, cliActor());
    const file = writeExampleApiCredentials(dataDir, { client_id: saved.client_id, client_secret: rotated.clientSecret });
    return { clientId: saved.client_id, reused: false, file };
  }
  const created = await createApplication(services.applicationDeps,
    { name: 'TokenIM example API', type: 'service', isResourceServer: true }, cliActor());
  const file = writeExampleApiCredentials(dataDir, {
    client_id: created.application.clientId, client_secret: created.secret!.clientSecret,
  });
  return { clientId: created.application.clientId, reused: false, file };
}

export const SYSTEM_COMMANDS: Record<string, Command> = {
  'keys rotate': {
    summary: 'publish a new signing key pair now, signing after keys.publishDelaySeconds; prints the timeline',
    options: {},
    required: [],
    async run(services) {
      const { config } = services;
      const rotation = await services.keyrings.rotateSigningKeys({
        publishDelaySeconds: config.keys.publishDelaySeconds, retentionSeconds: retiredKeyRetentionSeconds(config) });
      const timeline = {
        added_kids: rotation.added.keys.map((k) => k.kid),
        published_at: rotation.added.publishedAt,
        signs_from: rotation.added.signsFrom,
        retired_kids: rotation.retiredKids,
        retired_kids_unpublished_at: rotation.retiredUnpublishedAt,
        removed_kids: rotation.removedKids,
      };
      await services.audit.record({ type: 'keys.rotated', actor: cliActor(),
        details: { added: timeline.added_kids, retired: rotation.retiredKids, removed: rotation.removedKids,
          signsFrom: timeline.signs_from, retiredUnpublishedAt: timeline.retired_kids_unpublished_at } });
      // Running instances pick the keyring up within keys.pollIntervalSeconds: no restart.
      return timeline;
    },
  },
  'db create-indexes': {
    summary: 'MongoDB: run the data migrations and create the indexes (SQLite: nothing to do)',
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
  'example-api credentials': {
    summary: "give the example API (npm run example:im-api) resource-server credentials in DATA_DIR, for instant revocation",
    options: {},
    required: [],
    async run(services) {
      const { clientId, reused, file } = await ensureExampleApiCredentials(services);
      return { client_id: clientId, credentials_file: file, reused };
    },
  },
};
