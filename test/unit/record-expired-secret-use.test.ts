// client.secret_expired (issue 10 item 7): the first refused use of an expired key is recorded
// once, decided on the key record; a process touches the store once per key, not per refusal.
import { describe, expect, it } from '@jest/globals';
import { createExpiredSecretRecorder, type ExpiredSecretUseDeps } from '../../src/applications/record-expired-secret-use.ts';
import type { ApplicationRecord, ClientSecretRecord } from '../../src/storage/contract.ts';
import type { SecretCheck } from '../../src/applications/check-client-secret.ts';

const expiredAt = new Date('2026-06-01T00:00:00Z');
const expired: SecretCheck = { ok: false, reason: 'expired', secretId: 'sec_a', at: expiredAt };

/** One application held in memory; updateApplication applies the change as the stores' compare-and-set does. */
function fakeStore(options: { failing?: () => boolean } = {}) {
  const secret = { id: 'sec_a', expiredUseRecordedAt: null } as unknown as ClientSecretRecord;
  let application = { clientId: 'tkm_a', secrets: [secret], version: 1 } as unknown as ApplicationRecord;
  const calls = { updates: 0, records: [] as unknown[] };
  const deps: ExpiredSecretUseDeps = {
    applications: {
      async updateApplication(_clientId, change) {
        calls.updates += 1;
        if (options.failing?.()) throw new Error('store unavailable');
        const before = application;
        application = { ...change(before), version: before.version + 1 };
        return { before, after: application };
      },
    },
    audit: { async record(event: unknown) { calls.records.push(event); return event; } } as unknown as ExpiredSecretUseDeps['audit'],
  };
  return { deps, calls, stored: () => application.secrets[0]! };
}

describe('createExpiredSecretRecorder', () => {
  it('records once per key; later refusals in the process cost no store access', async () => {
    const { deps, calls, stored } = fakeStore();
    const record = createExpiredSecretRecorder(deps);
    await Promise.all([record('tkm_a', expired), record('tkm_a', expired)]);
    await record('tkm_a', expired);
    expect(calls.updates).toBe(1);
    expect(calls.records).toEqual([expect.objectContaining({ type: 'client.secret_expired', clientId: 'tkm_a',
      details: { secretId: 'sec_a', expiredAt: expiredAt.toISOString() } })]);
    expect(stored().expiredUseRecordedAt).toEqual(expect.any(Date));
  });

  it('another process (or a restart) finds the claim on the key record and records nothing', async () => {
    const { deps, calls } = fakeStore();
    await createExpiredSecretRecorder(deps)('tkm_a', expired);
    const restarted = createExpiredSecretRecorder(deps);
    await restarted('tkm_a', expired);
    await restarted('tkm_a', expired);
    expect(calls.records).toHaveLength(1);
    expect(calls.updates).toBe(2); // one claim each; the second finds it taken
  });

  it('a failed claim is tried again at the next refusal', async () => {
    let failures = 1;
    const { deps, calls } = fakeStore({ failing: () => failures-- > 0 });
    const record = createExpiredSecretRecorder(deps);
    await expect(record('tkm_a', expired)).rejects.toThrow('store unavailable');
    await record('tkm_a', expired);
    expect(calls.records).toHaveLength(1);
  });

  it('ignores accepted keys and other refusals', async () => {
    const { deps, calls } = fakeStore();
    const record = createExpiredSecretRecorder(deps);
    await record('tkm_a', { ok: true, secretId: 'sec_a' });
    await record('tkm_a', { ok: false, reason: 'replaced', secretId: 'sec_a', at: expiredAt });
    await record('tkm_a', { ok: false, reason: 'no_match' });
    expect(calls).toEqual({ updates: 0, records: [] });
  });
});
