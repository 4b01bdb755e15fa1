// Issue 10 item 3: the self-service path (createDeveloperApplication, changeDeveloperApplicationScope)
// holds an application's permissions to its developer's roles, and sensitive ones wait for
// `tokenim-auth clients approve-scopes` before a token carries them.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import type { AccountRecord } from '../../src/storage/contract.ts';
import { createAccount } from '../../src/accounts/create-account.ts';
import { setAccountRoles } from '../../src/accounts/set-account-roles.ts';
import { createApplication } from '../../src/applications/create-application.ts';
import { createDeveloperApplication, type DeveloperApplicationInput } from '../../src/applications/create-developer-application.ts';
import { changeDeveloperApplicationScope } from '../../src/applications/change-developer-application-scope.ts';
import { approveApplicationScopes } from '../../src/applications/approve-application-scopes.ts';
import { loadConfig, ConfigError } from '../../src/config/load-config.ts';
import { buildServices } from '../../src/services.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { discoverAs } from '../helpers/relying-party.ts';
import { cli } from '../helpers/spawn-server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const actor = { kind: 'system', id: 'test' } as const;
let server: TestServer;
let member: AccountRecord;
let support: AccountRecord;

beforeAll(async () => {
  server = await startTestServer();
  const { accountDeps } = server.services;
  member = await createAccount(accountDeps, { email: 'member@example.test', password: 'a long password', emailVerified: true }, actor);
  support = await createAccount(accountDeps,
    { email: 'support@example.test', password: 'a long password', emailVerified: true, roles: ['support'] }, actor);
});
afterAll(() => server?.close());

const deps = () => server.services.applicationDeps;
const ownApplications = (account: AccountRecord) => server.services.stores.durable.applications.listApplicationsByOwnerId(account.id);
const ledger = async (type: string, clientId: string) =>
  (await server.services.stores.durable.audit.listAuditEvents({ type, limit: 1000 })).filter((e) => e.clientId === clientId);
const tokenScope = async (clientId: string, secret: string) => {
  const tokens = await client.clientCredentialsGrant(await discoverAs(server.issuer, { clientId, secret }), { scope: 'message:read calls:read' });
  return decodeJwt(tokens.access_token).scope;
};

describe('the permission ceiling: a developer gives an application only what their roles allow', () => {
  it('a member cannot give a new application calls:read: 403 scope_not_allowed naming the roles that allow it; nothing is stored', async () => {
    const refused = createDeveloperApplication(deps(), member, { name: 'Call log', type: 'service', scope: 'message:read calls:read' });
    await expect(refused).rejects.toMatchObject({
      code: 'scope_not_allowed', status: 403, params: { scope: 'calls:read', roles: 'support, auditor or admin' },
      message: 'your roles do not allow calls:read; it needs the support, auditor or admin role',
    });
    expect(await ownApplications(member)).toEqual([]);
  });

  it('nor add it later; their own permissions are fine and tokens carry them', async () => {
    const { application, secret } = await createDeveloperApplication(deps(), member, { name: 'Reader', type: 'service', scope: 'message:read' });
    expect(application).toMatchObject({ ownerId: member.id, scope: 'message:read', pendingScope: '', isFirstParty: false, isResourceServer: false });
    await expect(changeDeveloperApplicationScope(deps(), member, application.clientId, 'message:read calls:read'))
      .rejects.toMatchObject({ code: 'scope_not_allowed', params: { scope: 'calls:read' } });
    expect(await tokenScope(application.clientId, secret!.clientSecret)).toBe('message:read');
  });

  it('a web application without a list gets the OIDC scopes and the developer\'s non-sensitive permissions', async () => {
    const { application } = await createDeveloperApplication(deps(), support,
      { name: 'Desk', type: 'web', redirectUris: ['https://desk.example.test/callback'] });
    expect(application).toMatchObject({ scope: 'openid profile email offline_access message:send message:read contacts:read', pendingScope: '' });
  });
});

describe('sensitive permissions wait for an administrator (clients approve-scopes)', () => {
  it('a support person\'s service gets calls:read only after approval; clients show lists it as pending until then', async () => {
    const { application, secret } = await createDeveloperApplication(deps(), support,
      { name: 'Call stats', type: 'service', scope: 'message:read calls:read' });
    const { clientId } = application;
    expect(application).toMatchObject({ scope: 'message:read', pendingScope: 'calls:read' });
    expect(await ledger('client.scopes_requested', clientId)).toEqual([expect.objectContaining({
      actor: { kind: 'account', id: support.id }, subject: support.id, details: { scopes: ['calls:read'] } })]);

    expect(await tokenScope(clientId, secret!.clientSecret)).toBe('message:read');
    const env = { DATA_DIR: server.dataDir };
    expect(await cli(env, 'clients', 'show', '--client-id', clientId)).toMatchObject({ scope: 'message:read', pending_scope: 'calls:read' });

    expect(await cli(env, 'clients', 'approve-scopes', '--client-id', clientId, '--scope', 'calls:read'))
      .toEqual({ client_id: clientId, scope: 'message:read calls:read', pending_scope: '' });
    expect(await tokenScope(clientId, secret!.clientSecret)).toBe('message:read calls:read');
    expect(await cli(env, 'clients', 'show', '--client-id', clientId)).toMatchObject({ pending_scope: '' });
    expect(await ledger('client.scopes_approved', clientId)).toEqual([expect.objectContaining({
      actor: expect.objectContaining({ kind: 'cli' }), subject: support.id, details: { scopes: ['calls:read'], scope: 'message:read calls:read' } })]);
  });

  it('an owned application reaches only what its owner\'s roles allow today: a role taken away, or the account disabled, shrinks it', async () => {
    const owner = await createAccount(server.services.accountDeps,
      { email: 'demoted@example.test', password: 'a long password', emailVerified: true, roles: ['support'] }, actor);
    const { application, secret } = await createDeveloperApplication(deps(), owner,
      { name: 'Demoted bot', type: 'service', scope: 'message:read calls:read' });
    await approveApplicationScopes(deps(), application.clientId, 'calls:read', actor);
    expect(await tokenScope(application.clientId, secret!.clientSecret)).toBe('message:read calls:read');
    await setAccountRoles(server.services.accountDeps, owner.email, ['member'], actor);
    expect(await tokenScope(application.clientId, secret!.clientSecret)).toBe('message:read');
    await server.services.stores.durable.accounts.updateAccountById(owner.id, { disabled: true, updatedAt: new Date() });
    const config = await discoverAs(server.issuer, { clientId: application.clientId, secret: secret!.clientSecret });
    await expect(client.clientCredentialsGrant(config, { scope: 'message:read' })).rejects.toMatchObject({ error: 'invalid_scope' });
  });

  it('approve-scopes refuses a scope that is not pending (exit 1, says what waits), and changes nothing', async () => {
    const { application } = await createDeveloperApplication(deps(), support, { name: 'Audit-free', type: 'service', scope: 'calls:read' });
    const failed = await cli({ DATA_DIR: server.dataDir }, 'clients', 'approve-scopes', '--client-id', application.clientId,
      '--scope', 'calls:read message:send').catch((error: unknown) => error as { code: number; stderr: string });
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toContain('not waiting for approval: message:send; this application waits for calls:read');
    expect(await server.services.stores.durable.applications.findApplicationByClientId(application.clientId))
      .toMatchObject({ scope: '', pendingScope: 'calls:read', version: 1 });
    expect(await ledger('client.scopes_approved', application.clientId)).toEqual([]);
  });

  it('changing the list keeps an approved permission approved and makes a newly asked one wait', async () => {
    const auditor = await createAccount(server.services.accountDeps,
      { email: 'auditor@example.test', password: 'a long password', emailVerified: true, roles: ['auditor'] }, actor);
    const { application } = await createDeveloperApplication(deps(), auditor, { name: 'Ledger', type: 'service', scope: 'calls:read' });
    await approveApplicationScopes(deps(), application.clientId, 'calls:read', actor);
    const changed = await changeDeveloperApplicationScope(deps(), auditor, application.clientId, 'calls:read audit:read');
    expect(changed).toMatchObject({ scope: 'calls:read', pendingScope: 'audit:read' });
    expect((await ledger('client.scopes_requested', application.clientId)).map((e) => e.details)).toEqual([
      { scopes: ['calls:read'] }, { scopes: ['audit:read'] }]);
    // Someone else's application answers as a missing one.
    await expect(changeDeveloperApplicationScope(deps(), support, application.clientId, 'calls:read'))
      .rejects.toMatchObject({ code: 'client_not_found', status: 404 });
  });

  it('an application an administrator registers (clients create) waits for nothing', async () => {
    const { application } = await createApplication(deps(), { name: 'Ops', type: 'service', scope: 'calls:read audit:read' }, actor);
    expect(application).toMatchObject({ scope: 'calls:read audit:read', pendingScope: '' });
  });
});

describe('the self-service path sets no first-party, resource-server or ownership field', () => {
  it.each([
    ['isFirstParty', { isFirstParty: true }],
    ['isResourceServer', { isResourceServer: true }],
    ['ownerEmail', { ownerEmail: 'support@example.test' }],
    ['ownerId', { ownerId: 'someone-else' }],
  ])('refuses %s with 400 field_not_allowed and stores nothing', async (field, extra) => {
    const input = { name: 'Sneaky', type: 'service', scope: 'message:send', ...extra } as DeveloperApplicationInput;
    await expect(createDeveloperApplication(deps(), member, input))
      .rejects.toMatchObject({ code: 'field_not_allowed', status: 400, params: { field } });
    expect((await ownApplications(member)).map((a) => a.name)).not.toContain('Sneaky');
  });
});

describe('config permissions.sensitiveScopes', () => {
  it('is checked against the scope catalog at start-up', async () => {
    const dir = makeTempDir('sensitive');
    try {
      const config = loadConfig({ DATA_DIR: dir.path, LOG_LEVEL: 'silent' });
      await expect(buildServices({ ...config, permissions: { sensitiveScopes: ['calls:write'] } })).rejects.toThrow(ConfigError);
      await expect(buildServices({ ...config, permissions: { sensitiveScopes: ['calls:write'] } }))
        .rejects.toThrow('"calls:write" is not an API scope of config/scopes.json');
    } finally {
      dir.remove();
    }
  });
});
