// Issue 10, item 5: owners are mailed 14 days and 1 day before a key expires, once per key and
// threshold, even when every instance runs the job at once (the store's compare-and-set decides).
import { afterAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { notifyExpiringSecrets, type NotifyExpiringDeps } from '../../src/applications/notify-expiring-secrets.ts';
import type { ApplicationRecord, ClientSecretRecord } from '../../src/storage/contract.ts';
import { createSqliteStores } from '../../src/storage/sqlite/create-sqlite-stores.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { buildServices } from '../../src/services.ts';
import { closeConnections } from '../../src/storage/open-stores.ts';
import { createAccount } from '../../src/accounts/create-account.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { cli } from '../helpers/spawn-server.ts';
import { lastMailTo, readOutbox } from '../helpers/outbox.ts';
import { startTestServer } from '../helpers/test-server.ts';

const tmp = makeTempDir('expiring');
const stores = createSqliteStores(`${tmp.path}/store.sqlite`);
afterAll(async () => { await stores.connection.close(); tmp.remove(); });

const DAY = 86_400_000;
const now = new Date('2026-06-01T12:00:00Z');
const sent: { kind: string; to: string; locale: string; params: Record<string, string> | undefined }[] = [];
const deps: NotifyExpiringDeps = {
  applications: stores.applications, accounts: stores.accounts, developersUrl: 'https://id.example.test/developers',
  mail: { async send(kind, to, locale, _link, params) { sent.push({ kind, to, locale, params }); } },
};

const secret = (expiresAt: Date | null, overrides: Partial<ClientSecretRecord> = {}): ClientSecretRecord => ({
  id: `sec_${randomUUID()}`, hint: 'a1b2', hash: randomUUID(), createdAt: new Date(now.getTime() - 80 * DAY), expiresAt,
  replacedAt: null, graceEndsAt: null, revokedAt: null, lastUsedAt: null, expiryNoticesSent: [], expiredUseRecordedAt: null, ...overrides,
});

async function ownedApplication(secrets: ClientSecretRecord[], extra: Partial<ApplicationRecord> = {}): Promise<{ application: ApplicationRecord; email: string }> {
  const email = `${randomUUID()}@example.test`;
  const ownerId = randomUUID();
  await stores.accounts.insertAccount({ id: ownerId, email, name: 'Dev', passwordHash: 'x', emailVerified: true, roles: ['member'],
    disabled: false, createdAt: now, updatedAt: now });
  const application = { clientId: randomUUID(), name: 'Bot', type: 'service', scope: 'message:send', pendingScope: '', redirectUris: [],
    postLogoutRedirectUris: [], ownerId, secrets, isResourceServer: false, isFirstParty: false, revokedAt: null, disabledAt: null,
    refusedScope: '',
    tokenRateLimitPerMinute: null,
    createdAt: now, updatedAt: now, version: 1, ...extra } as unknown as ApplicationRecord;
  await stores.applications.insertApplication(application);
  return { application, email };
}
const mailsTo = (email: string) => sent.filter((m) => m.to === email);

describe('clients notify-expiring (the expiry-warning job)', () => {
  it('mails the owner once at 14 days and once at 1 day; a second run sends nothing', async () => {
    const key = secret(new Date(now.getTime() + 10 * DAY));
    const { email } = await ownedApplication([key]);
    const first = await notifyExpiringSecrets(deps, now);
    expect(first.filter((n) => n.to === email)).toEqual([expect.objectContaining({ secretId: key.id, days: 14 })]);
    expect(mailsTo(email)).toEqual([{ kind: 'api_key_expiring', to: email, locale: 'en',
      params: { name: 'Bot', hint: 'a1b2', date: '2026-06-11 12:00 UTC', days: '10' } }]);
    expect((await notifyExpiringSecrets(deps, now)).filter((n) => n.to === email)).toEqual([]);

    const dayBefore = new Date(now.getTime() + 9.5 * DAY);
    expect((await notifyExpiringSecrets(deps, dayBefore)).filter((n) => n.to === email).map((n) => n.days)).toEqual([1]);
    expect((await notifyExpiringSecrets(deps, dayBefore)).filter((n) => n.to === email)).toEqual([]);
    expect(mailsTo(email)).toHaveLength(2);
  });

  it('mails in the language its owner used on /developers (ownerLocale), else English', async () => {
    const { email } = await ownedApplication([secret(new Date(now.getTime() + 3 * DAY))], { ownerLocale: 'zh-CN' });
    await notifyExpiringSecrets(deps, now);
    expect(mailsTo(email).map((m) => m.locale)).toEqual(['zh-CN']);
  });

  it('two runs at once (two instances) send exactly one mail', async () => {
    const { email } = await ownedApplication([secret(new Date(now.getTime() + 5 * DAY))]);
    const runs = await Promise.all([notifyExpiringSecrets(deps, now), notifyExpiringSecrets(deps, now), notifyExpiringSecrets(deps, now)]);
    expect(runs.flat().filter((n) => n.to === email)).toHaveLength(1);
    expect(mailsTo(email)).toHaveLength(1);
  });

  it('sends nothing for a key without expiry, an expired key, a key far from expiry or one replaced by rotation', async () => {
    const { email } = await ownedApplication([
      secret(null),
      secret(new Date(now.getTime() - DAY)),
      secret(new Date(now.getTime() + 60 * DAY)),
      secret(new Date(now.getTime() + 3 * DAY), { replacedAt: now, graceEndsAt: new Date(now.getTime() + DAY) }),
    ]);
    expect((await notifyExpiringSecrets(deps, now)).filter((n) => n.to === email)).toEqual([]);
    expect(mailsTo(email)).toEqual([]);
  });
});

/** In `dataDir`: an account owning a service application whose key expires in 10 days; its mails in `locale`. */
async function ownerWithExpiringKey(dataDir: string, email: string, locale: 'en' | 'zh-CN'): Promise<string> {
  const services = await buildServices(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
  try {
    const actor = { kind: 'system', id: 'test' } as const;
    await createAccount(services.accountDeps, { email, password: 'long enough pass', emailVerified: true }, actor);
    const { application } = await createApplication(services.applicationDeps, { name: 'Billing bot', type: 'service', scope: 'message:send',
      ownerEmail: email, secretExpiresInSeconds: 10 * 86_400 }, actor);
    await services.stores.durable.applications.updateApplication(application.clientId, (a) => ({ ...a, ownerLocale: locale }));
    return application.clientId;
  } finally {
    await closeConnections(services.stores.connections);
  }
}

describe('the expiry-warning job, run by the command and by a starting server', () => {
  it('tokenim-auth clients notify-expiring writes the mail in the owner\'s language; a second run sends nothing', async () => {
    const dir = makeTempDir('notify-cli');
    try {
      const clientId = await ownerWithExpiringKey(dir.path, 'mei@example.test', 'zh-CN');
      const first = await cli({ DATA_DIR: dir.path }, 'clients', 'notify-expiring');
      expect(first).toEqual({ sent: [expect.objectContaining({ client_id: clientId, to: 'mei@example.test', days_before: 14 })] });
      const mails = await readOutbox(dir.path);
      expect(mails.map((m) => [m.to, m.subject])).toEqual([['mei@example.test', expect.stringMatching(/^您的应用 Billing bot 的 API 密钥将于 .+ 过期$/)]]);
      expect(mails[0]!.links.some((link) => link.endsWith('/developers'))).toBe(true);

      expect(await cli({ DATA_DIR: dir.path }, 'clients', 'notify-expiring')).toEqual({ sent: [] });
      expect(await readOutbox(dir.path)).toHaveLength(1);
    } finally {
      dir.remove();
    }
  });

  it('a server that starts runs it shortly after, not an hour later: a notice due while it was down goes out', async () => {
    const dir = makeTempDir('notify-start');
    try {
      await ownerWithExpiringKey(dir.path, 'lin@example.test', 'en');
      const server = await startTestServer({ env: { DATA_DIR: dir.path } });
      try {
        // lastMailTo waits up to 5 s for it.
        expect((await lastMailTo(dir.path, 'lin@example.test')).subject).toMatch(/^Your API key for Billing bot expires on /);
      } finally {
        await server.close();
      }
      expect(await readOutbox(dir.path)).toHaveLength(1);
    } finally {
      dir.remove();
    }
  });
});
