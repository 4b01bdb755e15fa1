import type { Db } from 'mongodb';
import type { MfaStore } from '../contract.ts';
import { collections, isDuplicateKey } from './mongo-collections.ts';

export function createMongoMfaStore(db: Db): MfaStore {
  const { mfa } = collections(db);
  return {
    async findMfaByAccountId(accountId) {
      const doc = await mfa.findOne({ _id: accountId });
      if (!doc) return undefined;
      const { _id, ...rest } = doc;
      return { accountId: _id, ...rest };
    },
    async savePendingTotp(accountId, totpSecret, at) {
      try {
        const result = await mfa.updateOne(
          { _id: accountId, enabledAt: null },
          { $set: { totpSecret, updatedAt: at }, $setOnInsert: { enabledAt: null, lastUsedStep: 0, recoveryCodeHashes: [] } },
          { upsert: true },
        );
        return result.matchedCount === 1 || result.upsertedCount === 1;
      } catch (error) {
        // The filter missed an enabled factor and the upsert hit its _id: refused, as documented.
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    },
    async enableTotp(accountId, totpSecret, step, recoveryCodeHashes, at) {
      const result = await mfa.updateOne({ _id: accountId, totpSecret, enabledAt: null },
        { $set: { enabledAt: at, lastUsedStep: step, recoveryCodeHashes, updatedAt: at } });
      return result.modifiedCount === 1;
    },
    async useTotpStep(accountId, step) {
      // One conditional update: of concurrent callers with one code, exactly one matches.
      const result = await mfa.updateOne({ _id: accountId, enabledAt: { $ne: null }, lastUsedStep: { $lt: step } },
        { $set: { lastUsedStep: step } });
      return result.modifiedCount === 1;
    },
    async useRecoveryCode(accountId, hash) {
      const result = await mfa.updateOne({ _id: accountId, recoveryCodeHashes: hash }, { $pull: { recoveryCodeHashes: hash } });
      return result.modifiedCount === 1;
    },
    async replaceRecoveryCodes(accountId, recoveryCodeHashes, at) {
      const result = await mfa.updateOne({ _id: accountId, enabledAt: { $ne: null } }, { $set: { recoveryCodeHashes, updatedAt: at } });
      return result.matchedCount === 1;
    },
    async deleteMfa(accountId) {
      return (await mfa.deleteOne({ _id: accountId })).deletedCount === 1;
    },
  };
}
