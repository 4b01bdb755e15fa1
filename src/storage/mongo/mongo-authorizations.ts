import type { Collection, Db, Document, Filter } from 'mongodb';
import type { AuthorizationFilter, AuthorizationRecord, AuthorizationStore } from '../contract.ts';
import { collections, type AuthorizationDocument } from './mongo-collections.ts';

const fromDocument = ({ _id, ...rest }: AuthorizationDocument): AuthorizationRecord => ({ grantId: _id, ...rest });

/** Every filter given, ANDed; the indexes of mongo-collections.ts (person, application, permission: multikey) serve each. */
function toQuery(filter: AuthorizationFilter): Filter<AuthorizationDocument> {
  const and: Filter<AuthorizationDocument>[] = [{ $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }] }];
  if (filter.accountId !== undefined) and.push({ accountId: filter.accountId });
  if (filter.clientId !== undefined) and.push({ clientId: filter.clientId });
  if (filter.permission !== undefined) and.push({ permissions: filter.permission });
  if (filter.after) {
    const { createdAt, grantId } = filter.after;
    and.push({ $or: [{ createdAt: { $lt: createdAt } }, { createdAt, _id: { $lt: grantId } }] });
  }
  return { $and: and };
}

export function createMongoAuthorizationStore(db: Db): AuthorizationStore {
  const authorizations: Collection<AuthorizationDocument> = collections(db).authorizations;
  return {
    async saveAuthorization({ grantId, permissions, ...rest }) {
      await authorizations.updateOne({ _id: grantId }, { $set: { ...rest, permissions: [...new Set(permissions)] },
        $setOnInsert: { lastUsedAt: null } }, { upsert: true });
    },
    async deleteAuthorization(grantId) {
      return (await authorizations.deleteOne({ _id: grantId })).deletedCount === 1;
    },
    async recordAuthorizationUse(grantId, at) {
      await authorizations.updateOne({ _id: grantId, $or: [{ lastUsedAt: null }, { lastUsedAt: { $lt: at } }] },
        { $set: { lastUsedAt: at } });
    },
    async findAuthorization(grantId) {
      const doc = await authorizations.findOne({ $and: [{ _id: grantId }, toQuery({})] });
      return doc ? fromDocument(doc) : undefined;
    },
    async listAuthorizations(filter, limit) {
      return (await authorizations.find(toQuery(filter)).sort({ createdAt: -1, _id: -1 }).limit(limit).toArray()).map(fromDocument);
    },
    countAuthorizations: (filter) => authorizations.countDocuments(toQuery(filter)),
  };
}

/**
 * The `authorization-index` migration: fills the index from the grants stored before it, in the
 * server (an aggregation merged into the collection); rows the running servers wrote meanwhile are
 * kept. The account pages' own client is left out, as src/oidc/authorization-index.ts does.
 */
export function authorizationBackfill(accountClientId: string): Document[] {
  const words = (text: unknown) => ({ $split: [text, ' '] });
  return [
    { $match: { model: 'Grant', accountId: { $type: 'string' }, 'payload.clientId': { $type: 'string', $ne: accountClientId },
      $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }] } },
    { $project: {
      _id: { $substrCP: ['$_id', 'Grant:'.length, { $strLenCP: '$_id' }] },
      accountId: '$payload.accountId',
      clientId: '$payload.clientId',
      permissions: { $setUnion: [{ $filter: { input: { $concatArrays: [
        words({ $ifNull: ['$payload.openid.scope', ''] }),
        { $reduce: { input: { $objectToArray: { $ifNull: ['$payload.resources', {}] } }, initialValue: [],
          in: { $concatArrays: ['$$value', words('$$this.v')] } } },
      ] }, cond: { $ne: ['$$this', ''] } } }] },
      createdAt: { $toDate: { $multiply: [{ $ifNull: ['$payload.iat', 0] }, 1000] } },
      expiresAt: '$expiresAt',
      lastUsedAt: { $literal: null },
    } },
    { $merge: { into: 'authorizations', on: '_id', whenMatched: 'keepExisting', whenNotMatched: 'insert' } },
  ];
}
