import type { Db, Filter } from 'mongodb';
import { accountNameKey, DuplicateError, prefixRangeEnd, type AccountStore, type ApplicationRecord, type ApplicationStore,
  type KeyringStore } from '../contract.ts';
import { collections, isDuplicateKey, type AccountDocument, type ApplicationDocument,
  type KeyringDocument } from './mongo-collections.ts';
import { readStoredSecret, recordUseByRewrite, updateWithVersionCheck } from '../stored-secret.ts';

const fromAccount = ({ _id, nameKey: _nameKey, ...rest }: AccountDocument) => ({ id: _id, ...rest });
const fromApplication = ({ _id, postLogoutRedirectUris, pendingScope, disabledAt, refusedScope, tokenRateLimitPerMinute, nameKey: _nameKey,
  secrets, ...rest }: ApplicationDocument): ApplicationRecord =>
  ({ clientId: _id, ...rest, secrets: secrets.map(readStoredSecret), postLogoutRedirectUris: postLogoutRedirectUris ?? [],
    pendingScope: pendingScope ?? '', disabledAt: disabledAt ?? null, refusedScope: refusedScope ?? '',
    tokenRateLimitPerMinute: tokenRateLimitPerMinute ?? null });
const toApplication = ({ clientId, ...rest }: ApplicationRecord): ApplicationDocument =>
  ({ _id: clientId, ...rest, nameKey: accountNameKey(rest.name) });
const fromKeyring = ({ _id, ...rest }: KeyringDocument) => ({ name: _id, ...rest });

async function insertOrDuplicate(what: string, insert: () => Promise<unknown>): Promise<void> {
  try {
    await insert();
  } catch (error) {
    if (isDuplicateKey(error)) throw new DuplicateError(what);
    throw error;
  }
}

export function createMongoAccountStore(db: Db): AccountStore {
  const { accounts } = collections(db);
  return {
    insertAccount: ({ id, ...rest }) =>
      insertOrDuplicate('account', () => accounts.insertOne({ _id: id, ...rest, nameKey: accountNameKey(rest.name) })),
    async findAccountById(id) {
      const doc = await accounts.findOne({ _id: id });
      return doc ? fromAccount(doc) : undefined;
    },
    async findAccountByEmail(email) {
      const doc = await accounts.findOne({ email });
      return doc ? fromAccount(doc) : undefined;
    },
    async listAccounts({ role, limit }) {
      const filter = role === undefined ? {} : { roles: role };
      return (await accounts.find(filter).sort({ createdAt: 1, _id: 1 }).limit(limit).toArray()).map(fromAccount);
    },
    async searchAccounts({ prefix, afterEmail = '', limit }) {
      // Each $or branch is an index range (email_unique, by_name_key); only the matches are sorted.
      const range = prefix === undefined ? undefined : { $gte: prefix, $lt: prefixRangeEnd(prefix) };
      const filter = range ? { email: { $gt: afterEmail }, $or: [{ email: range }, { nameKey: range }] } : { email: { $gt: afterEmail } };
      return (await accounts.find(filter).sort({ email: 1 }).limit(limit).toArray()).map(fromAccount);
    },
    async findActiveAccountWithRole(roles, exceptId) {
      const doc = await accounts.findOne({ disabled: false, _id: { $ne: exceptId }, roles: { $in: [...roles] } });
      return doc ? fromAccount(doc) : undefined;
    },
    async updateAccountRolesById(id, roles, updatedAt) {
      return (await accounts.updateOne({ _id: id }, { $set: { roles, updatedAt } })).matchedCount === 1;
    },
    async updateAccountById(id, patch) {
      const set = Object.fromEntries(Object.entries({ ...patch, ...(patch.name === undefined ? {} : { nameKey: accountNameKey(patch.name) }) })
        .filter(([, value]) => value !== undefined));
      try {
        return (await accounts.updateOne({ _id: id }, { $set: set })).matchedCount === 1;
      } catch (error) {
        if (isDuplicateKey(error)) throw new DuplicateError('account');
        throw error;
      }
    },
  };
}

export function createMongoApplicationStore(db: Db): ApplicationStore {
  const { applications } = collections(db);
  return {
    insertApplication: (application) =>
      insertOrDuplicate('application', () => applications.insertOne(toApplication(application))),
    async findApplicationByClientId(clientId) {
      const doc = await applications.findOne({ _id: clientId });
      return doc ? fromApplication(doc) : undefined;
    },
    async listApplicationsByOwnerId(ownerId) {
      return (await applications.find({ ownerId }).sort({ createdAt: 1 }).toArray()).map(fromApplication);
    },
    async listApplications(limit) {
      return (await applications.find().sort({ createdAt: 1, _id: 1 }).limit(limit).toArray()).map(fromApplication);
    },
    async searchApplications({ prefix, ownerId, isPendingApproval, afterClientId = '', limit }) {
      // Each filter is an index range (_id, by_name_key, by_owner_client, pending_approval); only the matches are sorted.
      const key = prefix && accountNameKey(prefix);
      const filter: Filter<ApplicationDocument> = {
        _id: { $gt: afterClientId },
        ...(prefix && key ? { $or: [{ _id: { $gte: prefix, $lt: prefixRangeEnd(prefix) } }, { nameKey: { $gte: key, $lt: prefixRangeEnd(key) } }] } : {}),
        ...(ownerId !== undefined ? { ownerId } : {}),
        ...(isPendingApproval ? { pendingScope: { $gt: '' } } : {}),
      };
      return (await applications.find(filter).sort({ _id: 1 }).limit(limit).toArray()).map(fromApplication);
    },
    async replaceApplication(application, expectedVersion) {
      const { _id, ...doc } = toApplication({ ...application, version: expectedVersion + 1 });
      return (await applications.replaceOne({ _id, version: expectedVersion }, doc)).matchedCount === 1;
    },
    async updateApplication(clientId, change) {
      // A replaceOne filtered on the version read is the compare-and-set.
      return updateWithVersionCheck(
        async () => {
          const doc = await applications.findOne({ _id: clientId });
          return doc ? fromApplication(doc) : undefined;
        },
        async (next, expectedVersion) => {
          const { _id, ...doc } = toApplication({ ...next, clientId, version: expectedVersion + 1 });
          return (await applications.replaceOne({ _id, version: expectedVersion }, doc)).matchedCount === 1;
        },
        change,
      );
    },
    async recordSecretUse(clientId, secretId, at) {
      // One updateOne: the positional $ names the secret the filter matched; a later time is kept.
      const { matchedCount } = await applications.updateOne(
        { _id: clientId, secrets: { $elemMatch: { id: secretId, $or: [{ lastUsedAt: null }, { lastUsedAt: { $lt: at } }] } } },
        { $set: { 'secrets.$.lastUsedAt': at }, $inc: { version: 1 } },
      );
      if (matchedCount === 1) return true;
      // A later use is stored already, or the secret predates stored ids (rewritten once to store it).
      if (await applications.countDocuments({ _id: clientId, 'secrets.id': secretId }, { limit: 1 })) return true;
      return recordUseByRewrite(this, clientId, secretId, at);
    },
  };
}

export function createMongoKeyringStore(db: Db): KeyringStore {
  const { keyrings } = collections(db);
  return {
    async findKeyring(name) {
      const doc = await keyrings.findOne({ _id: name });
      return doc ? fromKeyring(doc) : undefined;
    },
    async findKeyringVersion(name) {
      const doc = await keyrings.findOne({ _id: name }, { projection: { version: 1 } });
      return doc?.version;
    },
    async insertKeyringIfAbsent({ name, ...rest }) {
      try {
        await keyrings.updateOne({ _id: name }, { $setOnInsert: rest }, { upsert: true });
      } catch (error) {
        // Two first starts racing: the other one's upsert won, which is what we want.
        if (!isDuplicateKey(error)) throw error;
      }
      return fromKeyring((await keyrings.findOne({ _id: name }))!);
    },
    async replaceKeyring({ name, sealed, updatedAt }, expectedVersion) {
      const result = await keyrings.updateOne(
        { _id: name, version: expectedVersion },
        { $set: { sealed, updatedAt, version: expectedVersion + 1 } },
      );
      return result.matchedCount === 1;
    },
  };
}
