import type { ApplicationStore } from '../storage/contract.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { SecretCheck } from './check-client-secret.ts';

export interface ExpiredSecretUseDeps {
  applications: Pick<ApplicationStore, 'updateApplication'>;
  audit: Pick<AuditLog, 'record'>;
}

/** Thrown inside the store's compare-and-set when the key's first refused use is already recorded. */
class AlreadyRecorded extends Error {}

/**
 * Marks the key's first refused use after expiry with the store's compare-and-set (as
 * notify-expiring-secrets.ts claims a notice): true only for the one caller whose change won,
 * whichever instance it runs on and however often the process restarted.
 */
async function claimFirstRefusedUse(deps: ExpiredSecretUseDeps, clientId: string, secretId: string, at: Date): Promise<boolean> {
  try {
    const update = await deps.applications.updateApplication(clientId, (application) => {
      const secret = application.secrets.find((s) => s.id === secretId);
      if (!secret || secret.expiredUseRecordedAt) throw new AlreadyRecorded();
      return { ...application, secrets: application.secrets.map((s) => (s === secret ? { ...s, expiredUseRecordedAt: at } : s)) };
    });
    return update !== undefined;
  } catch (error) {
    if (error instanceof AlreadyRecorded) return false;
    throw error;
  }
}

/**
 * client.secret_expired is recorded at the first refused use of each expired key (issue 10 item
 * 7), once: the claim on the key record decides across instances and restarts. A per-process memo
 * in front of it keeps the token endpoint from touching the store on every refused request: a
 * key this process has claimed, or found claimed, costs nothing more. A claim that failed (the
 * store down) is tried again at the next refusal.
 */
export function createExpiredSecretRecorder(deps: ExpiredSecretUseDeps): (clientId: string, check: SecretCheck) => Promise<void> {
  const settled = new Set<string>();
  return async (clientId, check) => {
    if (check.ok || check.reason !== 'expired' || settled.has(check.secretId)) return;
    settled.add(check.secretId);
    let isFirst: boolean;
    try {
      isFirst = await claimFirstRefusedUse(deps, clientId, check.secretId, new Date());
    } catch (error) {
      settled.delete(check.secretId);
      throw error;
    }
    if (!isFirst) return;
    await deps.audit.record({ type: 'client.secret_expired', actor: { kind: 'client', id: clientId }, clientId, outcome: 'failure',
      details: { secretId: check.secretId, expiredAt: check.at.toISOString() } });
  };
}
