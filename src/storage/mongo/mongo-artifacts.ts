import type { Collection, Filter } from 'mongodb';
import type { ArtifactPayload, ArtifactStore } from '../contract.ts';
import type { ArtifactDocument } from './mongo-collections.ts';

function toPayload(doc: ArtifactDocument | null): ArtifactPayload | undefined {
  if (!doc) return undefined;
  const payload = { ...doc.payload } as ArtifactPayload;
  if (doc.consumedAt) payload.consumed = Math.floor(doc.consumedAt.getTime() / 1000);
  return payload;
}

export function createMongoArtifactStore(artifacts: Collection<ArtifactDocument>): ArtifactStore {
  const live = (): Filter<ArtifactDocument> => ({ $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }] });
  const findOne = async (filter: Filter<ArtifactDocument>) => toPayload(await artifacts.findOne({ ...filter, ...live() }));

  return {
    async upsert(model, id, payload, expiresInSeconds) {
      const expiresAt = expiresInSeconds === undefined ? null : new Date(Date.now() + expiresInSeconds * 1000);
      // $set leaves consumedAt alone: consumption is permanent.
      await artifacts.updateOne(
        { _id: `${model}:${id}` },
        { $set: { model, payload, grantId: payload.grantId ?? null, accountId: payload.accountId ?? null, uid: payload.uid ?? null,
          userCode: payload.userCode ?? null, expiresAt } },
        { upsert: true },
      );
    },
    find: (model, id) => findOne({ _id: `${model}:${id}` }),
    findByUid: (model, uid) => findOne({ model, uid }),
    findByUserCode: (model, userCode) => findOne({ model, userCode }),
    async consume(model, id) {
      // One conditional update: of concurrent callers exactly one matches consumedAt: null.
      const result = await artifacts.updateOne(
        { _id: `${model}:${id}`, consumedAt: null, ...live() },
        { $set: { consumedAt: new Date() } },
      );
      return result.modifiedCount === 1;
    },
    async destroy(model, id) {
      return (await artifacts.deleteOne({ _id: `${model}:${id}` })).deletedCount === 1;
    },
    async revokeByGrantId(model, grantId) {
      await artifacts.deleteMany({ model, grantId });
    },
    async listByAccountId(model, accountId) {
      const docs = await artifacts.find({ model, accountId, ...live() }).toArray();
      return docs.map((doc) => ({ id: doc._id.slice(model.length + 1), payload: toPayload(doc)! }));
    },
  };
}
