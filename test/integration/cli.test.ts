// The tokenim-auth command: JSON on stdout, errors on stderr, exit 0 / 1 failure / 2 usage.
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { buildServices } from '../../src/services.ts';
import { closeConnections } from '../../src/storage/open-stores.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;
const dir = makeTempDir('cli');
afterAll(() => dir.remove());

function tokenimAuth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; json: Record<string, unknown> | undefined }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/tokenim-auth.js', ...args], {
      cwd: ROOT, env: { PATH: process.env.PATH ?? '', DATA_DIR: dir.path },
    }, (error, stdout, stderr) => {
      let json: Record<string, unknown> | undefined;
      try { json = JSON.parse(stdout) as Record<string, unknown>; } catch { json = undefined; }
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr, json });
    });
  });
}

describe('tokenim-auth', () => {
  it('users create prints the account; a second one with the same email fails with exit 1', async () => {
    const created = await tokenimAuth('users', 'create', '--email', 'Mei@Example.test', '--password', 'long enough pass', '--name', 'Mei');
    expect(created.code).toBe(0);
    expect(created.json).toMatchObject({ email: 'mei@example.test', name: 'Mei', roles: ['member'], email_verified: false });
    expect(created.stdout).not.toContain('long enough pass');
    const again = await tokenimAuth('users', 'create', '--email', 'mei@example.test', '--password', 'long enough pass');
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain('an account with this email address already exists');
  });

  it('users set-roles replaces the roles; an unknown role is refused and names the known ones', async () => {
    await tokenimAuth('users', 'create', '--email', 'sam@example.test', '--password', 'long enough pass');
    const set = await tokenimAuth('users', 'set-roles', '--email', 'sam@example.test', '--role', 'support', '--role', 'auditor');
    expect(set.json).toMatchObject({ roles: ['support', 'auditor'] });
    const bad = await tokenimAuth('users', 'set-roles', '--email', 'sam@example.test', '--role', 'boss');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown role boss; roles are member, support, auditor, admin');
  });

  it('clients create prints client_id, client_secret and client_secret_expires_at; native apps get no secret', async () => {
    const service = await tokenimAuth('clients', 'create', '--name', 'Bot', '--type', 'service', '--scope', 'message:send');
    expect(service.json).toMatchObject({ client_id: expect.stringMatching(/^tkm_/), client_secret: expect.stringMatching(/^tkm_sk_/),
      // clients.commandLineSecretLifetimeSeconds is 0 (no default of its own), so the 365-day maximum bounds it.
      client_secret_expires_at: expect.any(Number) });
    const native = await tokenimAuth('clients', 'create', '--name', 'Desktop', '--type', 'native',
      '--redirect-uri', 'http://127.0.0.1/callback');
    expect(native.code).toBe(0);
    expect(native.json).not.toHaveProperty('client_secret');
  });

  it('clients rotate-secret prints the new secret and until when the previous one stays valid', async () => {
    const { json } = await tokenimAuth('clients', 'create', '--name', 'Bot', '--type', 'service', '--scope', 'message:send');
    const before = Date.now();
    const rotated = await tokenimAuth('clients', 'rotate-secret', '--client-id', String(json!.client_id), '--grace', '600');
    expect(rotated.code).toBe(0);
    expect(rotated.json!.client_secret).not.toBe(json!.client_secret);
    const until = Date.parse(String(rotated.json!.previous_secret_valid_until));
    expect(until).toBeGreaterThanOrEqual(before + 600_000 - 1000);
    expect(until).toBeLessThanOrEqual(Date.now() + 600_000);
  });

  it('--expires-in sets the key lifetime; revoke-secret ends the previous key now; a grace over 7 days is refused', async () => {
    const created = await tokenimAuth('clients', 'create', '--name', 'Bot', '--type', 'service', '--scope', 'message:send',
      '--expires-in', '3600');
    const clientId = String(created.json!.client_id);
    expect(Number(created.json!.client_secret_expires_at)).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 3590);
    const rotated = await tokenimAuth('clients', 'rotate-secret', '--client-id', clientId, '--expires-in', '7200');
    expect(rotated.json).toMatchObject({ previous_secret_id: created.json!.secret_id, secret_id: expect.stringMatching(/^sec_/) });
    expect(Number(rotated.json!.client_secret_expires_at)).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 7190);
    // The default grace is a day (config clients.defaultRotationGraceSeconds), but the previous key's own expiry comes first.
    expect(Math.floor(Date.parse(String(rotated.json!.previous_secret_valid_until)) / 1000)).toBe(Number(created.json!.client_secret_expires_at));
    const revoked = await tokenimAuth('clients', 'revoke-secret', '--client-id', clientId, '--secret-id', String(created.json!.secret_id));
    expect(revoked).toMatchObject({ code: 0, json: { client_id: clientId, secret_id: created.json!.secret_id } });
    const shown = await tokenimAuth('clients', 'show', '--client-id', clientId);
    expect((shown.json!.secrets as { id: string; status: string }[]).map((s) => [s.id, s.status]))
      .toEqual([[rotated.json!.secret_id, 'expiring'], [created.json!.secret_id, 'revoked']]); // expiring: within 14 days
    const current = await tokenimAuth('clients', 'revoke-secret', '--client-id', clientId, '--secret-id', String(rotated.json!.secret_id));
    expect(current.code).toBe(1);
    expect(current.stderr).toMatch(/current key/);
    const tooLong = await tokenimAuth('clients', 'rotate-secret', '--client-id', clientId, '--grace', '604801');
    expect(tooLong.code).toBe(2);
  });

  it('no key outlives clients.maxSecretLifetimeSeconds (365 days): a longer --expires-in is refused, none given means the maximum', async () => {
    const MAX = 365 * 86_400;
    const tooLong = await tokenimAuth('clients', 'create', '--name', 'Bot', '--type', 'service', '--scope', 'message:send',
      '--expires-in', String(MAX + 1));
    expect(tooLong).toMatchObject({ code: 1, stdout: '' });
    expect(tooLong.stderr).toContain(`the key lifetime is at most ${MAX} seconds (config clients.maxSecretLifetimeSeconds)`);
    const before = Math.floor(Date.now() / 1000);
    const created = await tokenimAuth('clients', 'create', '--name', 'Bot', '--type', 'service', '--scope', 'message:send');
    expect(Number(created.json!.client_secret_expires_at)).toBeGreaterThanOrEqual(before + MAX);
    expect(Number(created.json!.client_secret_expires_at)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + MAX);
    const rotated = await tokenimAuth('clients', 'rotate-secret', '--client-id', String(created.json!.client_id),
      '--expires-in', String(MAX + 1));
    expect(rotated.code).toBe(1);
    expect(rotated.stderr).toContain('at most');
  });

  it('clients revoke revokes once; the revoked client cannot be rotated', async () => {
    const { json } = await tokenimAuth('clients', 'create', '--name', 'Bot', '--type', 'service', '--scope', 'message:send');
    const revoked = await tokenimAuth('clients', 'revoke', '--client-id', String(json!.client_id));
    expect(revoked.json).toMatchObject({ client_id: json!.client_id, revoked_at: expect.any(String) });
    const rotate = await tokenimAuth('clients', 'rotate-secret', '--client-id', String(json!.client_id));
    expect(rotate.code).toBe(1);
    expect(rotate.stderr).toContain('no active application has this client id');
  });

  it('keys rotate prints the timeline: published now, signing after the publish delay, the replaced keys retired; a ledger event', async () => {
    const before = new Date();
    const first = await tokenimAuth('keys', 'rotate');
    expect(first.json).toMatchObject({ added_kids: [expect.any(String), expect.any(String)],
      retired_kids: [expect.any(String), expect.any(String)], removed_kids: [] });
    const publishedAt = Date.parse(String(first.json!.published_at));
    const signsFrom = Date.parse(String(first.json!.signs_from));
    expect(publishedAt).toBeGreaterThanOrEqual(before.getTime());
    // config keys.publishDelaySeconds (10 min); the retired keys outlive the tokens they signed.
    expect(signsFrom - publishedAt).toBe(600_000);
    expect(Date.parse(String(first.json!.retired_kids_unpublished_at)) - signsFrom).toBeGreaterThan(3600_000);
    const second = await tokenimAuth('keys', 'rotate');
    expect(second.json!.retired_kids).toEqual(first.json!.added_kids);
    expect(second.json!.removed_kids).toEqual([]);

    const services = await buildServices(loadConfig({ DATA_DIR: dir.path, LOG_LEVEL: 'silent' }));
    try {
      const events = await services.stores.durable.audit.listAuditEvents({ type: 'keys.rotated', since: before, limit: 10 });
      expect(events.map((e) => e.details)).toEqual(expect.arrayContaining([expect.objectContaining({
        added: first.json!.added_kids, retired: first.json!.retired_kids, signsFrom: first.json!.signs_from })]));
    } finally {
      await closeConnections(services.stores.connections);
    }
  });

  it.each([
    [['clients', 'create', '--name', 'X'], 'missing --type; see "tokenim-auth clients create --help"'],
    [['clients', 'create', '--name', 'X', '--type', 'web', '--bogus'], 'unknown option --bogus; see "tokenim-auth clients create --help"'],
    [['clients', 'create', '--name', 'X', '--type', 'robot'],
      '--type must be one of service, web, native (got "robot"); see "tokenim-auth clients create --help"'],
    [['clients', 'create', '--name'], '--name needs a value; see "tokenim-auth clients create --help"'],
    [['users', 'create', '--email', '--password', 'x'], '--email needs a value (write --email=VALUE for one that starts with "-")'],
    [['users', 'create', '--email', 'a@b.example', '--password', 'p', '--verified=yes'], '--verified takes no value'],
    [['users', 'show', '--email', 'a@b.example', '--email', 'c@d.example'], '--email is given twice'],
    [['users', 'list', 'everyone'], 'unexpected argument "everyone"; see "tokenim-auth users list --help"'],
    [['users', 'list', '--limit', '0'], '--limit takes a whole number, from 1 to 10000 (got "0")'],
    [['users', 'delete'], 'unknown command "users delete"; see "tokenim-auth users --help"'],
    [['groups', 'list'], 'unknown command "groups"; see "tokenim-auth --help"'],
    [['clients'], 'missing command after "clients"; see "tokenim-auth clients --help"'],
    [[], 'missing command; see "tokenim-auth --help"'],
    [['--verbose'], 'unknown option --verbose; see "tokenim-auth --help"'],
    [['clients', 'rotate-secret', '--client-id', 'x', '--grace', 'soon'],
      '--grace takes a whole number of seconds, from 0 to 604800 (got "soon"); see "tokenim-auth clients rotate-secret --help"'],
  ])('%j is a usage error: exit 2, one line on stderr', async (args, message) => {
    const result = await tokenimAuth(...args);
    expect(result.code).toBe(2);
    expect(result.stderr.startsWith(`tokenim-auth: ${message}`)).toBe(true);
    expect(result.stderr).toMatch(/^tokenim-auth: [^\n]+; see "tokenim-auth( [a-z-]+)* --help"\n$/);
    expect(result.stdout).toBe('');
  });

  it.each([
    [['--help'], 'usage: tokenim-auth <area> <command> [options]', ['users create', 'clients set-scopes', 'example-api credentials']],
    [['-h'], 'usage: tokenim-auth <area> <command> [options]', ['keys rotate']],
    [['clients', '--help'], 'usage: tokenim-auth clients <command> [options]', ['clients list', 'clients show', 'clients revoke']],
    [['clients', 'create', '--help'], 'usage: tokenim-auth clients create --name N --type service|web|native [--scope "a b"] '
      + '[--redirect-uri U]... [--post-logout-redirect-uri U]... [--owner EMAIL] [--resource-server] [--first-party] [--expires-in SECONDS]',
    ['--first-party', '--expires-in']],
    // --help wins over anything else on the line, as in git and npm.
    [['users', 'list', '--bogus', '--help'], 'usage: tokenim-auth users list [--role R] [--limit N]', ['--limit N']],
  ])('%j prints usage on stdout and exits 0', async (args, usage, mentions) => {
    const result = await tokenimAuth(...args);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')[0]).toBe(usage);
    for (const mention of mentions) expect(result.stdout).toContain(mention);
  });

  it.each([[['--version']], [['clients', '--version']], [['clients', 'create', '--version']]])('%j prints the version', async (args) => {
    const result = await tokenimAuth(...args);
    expect(result).toMatchObject({ code: 0, stdout: `tokenim-auth ${VERSION}\n`, stderr: '' });
  });

  it.each([
    [['clients', 'create', '--name', 'X', '--type', 'service'], 'a service application needs --scope'],
    [['clients', 'create', '--name', 'X', '--type', 'service', '--scope', 'message:delete'], 'unknown scope message:delete'],
    [['clients', 'create', '--name', 'X', '--type', 'web', '--redirect-uri', 'http://app.example/cb'], 'must use https://'],
    [['clients', 'create', '--name', 'X', '--type', 'web', '--redirect-uri', 'https://app.example/cb#x'], 'must not contain a fragment'],
    [['users', 'create', '--email', 'not-an-email', '--password', 'long enough pass'], 'enter a valid email address'],
    [['users', 'create', '--email', 'a@b.example', '--password', 'short'], 'at least 8 characters'],
    [['users', 'show', '--email', 'nobody@example.test'], 'no account has this email address'],
    [['users', 'list', '--role', 'boss'], 'unknown role boss; roles are member, support, auditor, admin'],
    [['clients', 'show', '--client-id', 'tkm_nope'], 'no application has this client id'],
    [['clients', 'list', '--owner', 'nobody@example.test'], 'no account has this email address'],
    [['clients', 'set-scopes', '--client-id', 'tkm_nope', '--scope', 'message:send'], 'no active application has this client id'],
  ])('%j fails with a clear message: exit 1', async (args, message) => {
    const result = await tokenimAuth(...args);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
  });
});

describe('tokenim-auth users show | users list', () => {
  it('shows roles, two-factor status and dates, never the password hash', async () => {
    await tokenimAuth('users', 'create', '--email', 'lee@example.test', '--password', 'long enough pass', '--role', 'auditor', '--verified');
    const shown = await tokenimAuth('users', 'show', '--email', 'Lee@Example.test');
    expect(shown.code).toBe(0);
    expect(shown.json).toMatchObject({ email: 'lee@example.test', roles: ['auditor'], email_verified: true, disabled: false,
      two_factor: { status: 'off' }, created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(shown.stdout).not.toMatch(/argon2|password/i);

    // Two-factor status as the store has it: an enrolment waiting for its first code, then enabled.
    const services = await buildServices(loadConfig({ DATA_DIR: dir.path, LOG_LEVEL: 'silent' }));
    try {
      const { mfa } = services.stores.durable;
      const accountId = String(shown.json!.id);
      await mfa.savePendingTotp(accountId, 'sealed-secret', new Date());
      expect((await tokenimAuth('users', 'show', '--email', 'lee@example.test')).json).toMatchObject({ two_factor: { status: 'pending' } });
      await mfa.enableTotp(accountId, 'sealed-secret', 1, ['h1', 'h2'], new Date('2026-05-05T00:00:00Z'));
      const enabled = await tokenimAuth('users', 'show', '--email', 'lee@example.test');
      expect(enabled.json).toMatchObject({ two_factor: { status: 'enabled', enabled_at: '2026-05-05T00:00:00.000Z', recovery_codes_left: 2 } });
      expect(enabled.stdout).not.toContain('sealed-secret');
    } finally {
      await closeConnections(services.stores.connections);
    }
  });

  it('lists accounts oldest first, by role, up to --limit', async () => {
    for (const name of ['ann', 'bob', 'cy']) {
      await tokenimAuth('users', 'create', '--email', `${name}@list.test`, '--password', 'long enough pass',
        '--role', name === 'bob' ? 'member' : 'support');
    }
    const support = await tokenimAuth('users', 'list', '--role', 'support');
    const emails = (support.json!.users as { email: string }[]).map((u) => u.email);
    expect(emails.filter((e) => e.endsWith('@list.test'))).toEqual(['ann@list.test', 'cy@list.test']);
    expect(emails).not.toContain('bob@list.test');
    const everyone = await tokenimAuth('users', 'list');
    const listed = (everyone.json!.users as { email: string }[]).map((u) => u.email).filter((e) => e.endsWith('@list.test'));
    expect(listed).toEqual(['ann@list.test', 'bob@list.test', 'cy@list.test']);
    const one = await tokenimAuth('users', 'list', '--limit', '1');
    expect(one.json).toMatchObject({ count: 1 });
    expect(everyone.stdout).not.toMatch(/argon2|password/i);
  });
});

describe('tokenim-auth clients list | show | set-scopes', () => {
  it('shows an application with its secrets as dates only; lists by owner', async () => {
    await tokenimAuth('users', 'create', '--email', 'dev@example.test', '--password', 'long enough pass');
    const created = await tokenimAuth('clients', 'create', '--name', 'Chat', '--type', 'web', '--owner', 'dev@example.test',
      '--redirect-uri', 'https://chat.example.test/cb', '--post-logout-redirect-uri', 'https://chat.example.test/bye',
      '--post-logout-redirect-uri', 'https://chat.example.test/');
    expect(created.json).toMatchObject({ post_logout_redirect_uris: ['https://chat.example.test/bye', 'https://chat.example.test/'] });
    const clientId = String(created.json!.client_id);
    const shown = await tokenimAuth('clients', 'show', '--client-id', clientId);
    expect(shown.json).toMatchObject({ client_id: clientId, name: 'Chat', type: 'web', owner: 'dev@example.test',
      redirect_uris: ['https://chat.example.test/cb'], post_logout_redirect_uris: ['https://chat.example.test/bye', 'https://chat.example.test/'],
      resource_server: false, revoked_at: null, secrets: [{ id: expect.stringMatching(/^sec_/), hint: expect.stringMatching(/^.{4}$/), status: 'active', created_at: expect.any(String),
        expires_at: expect.any(String), replaced_at: null, valid_until: expect.any(String), revoked_at: null, last_used_at: null }] });
    expect(shown.stdout).not.toContain(String(created.json!.client_secret));
    expect(shown.stdout).not.toMatch(/tkm_sk_|hmac-sha256|"hash"/);

    const mine = await tokenimAuth('clients', 'list', '--owner', 'dev@example.test');
    expect((mine.json!.clients as { client_id: string }[]).map((c) => c.client_id)).toEqual([clientId]);
    const all = await tokenimAuth('clients', 'list');
    expect((all.json!.clients as { client_id: string }[]).map((c) => c.client_id)).toContain(clientId);
    expect(all.stdout).not.toMatch(/tkm_sk_|hmac-sha256|"hash"/);
  });

  it('set-scopes replaces the allow-list, checked like create, with a ledger event; narrowing publishes a revocation', async () => {
    const { json } = await tokenimAuth('clients', 'create', '--name', 'Bot', '--type', 'service', '--scope', 'message:send message:read');
    const clientId = String(json!.client_id);
    const bad = await tokenimAuth('clients', 'set-scopes', '--client-id', clientId, '--scope', 'message:send openid');
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringContaining('a service application has no user: openid') });
    const empty = await tokenimAuth('clients', 'set-scopes', '--client-id', clientId, '--scope', ' ');
    expect(empty).toMatchObject({ code: 1, stderr: expect.stringContaining('name at least one scope') });
    const before = new Date();
    const set = await tokenimAuth('clients', 'set-scopes', '--client-id', clientId, '--scope', 'message:send contacts:read');
    expect(set.json).toEqual({ client_id: clientId, scope: 'message:send contacts:read' });
    expect((await tokenimAuth('clients', 'show', '--client-id', clientId)).json).toMatchObject({ scope: 'message:send contacts:read' });

    const services = await buildServices(loadConfig({ DATA_DIR: dir.path, LOG_LEVEL: 'silent' }));
    try {
      const events = await services.stores.durable.audit.listAuditEvents({ type: 'client.scopes_changed', since: before, limit: 10 });
      expect(events.filter((e) => e.clientId === clientId)).toEqual([expect.objectContaining({
        actor: expect.objectContaining({ kind: 'cli' }), details: { from: 'message:send message:read', to: 'message:send contacts:read' } })]);
      const revocations = await services.stores.durable.revocations.listRevocationsSince(before, 100);
      expect(revocations).toContainEqual(expect.objectContaining({ kind: 'client', value: clientId }));
    } finally {
      await closeConnections(services.stores.connections);
    }
  });

  it('clients create --resource-server needs no --scope', async () => {
    const created = await tokenimAuth('clients', 'create', '--name', 'Gateway', '--type', 'service', '--resource-server');
    expect(created.code).toBe(0);
    expect(created.json).toMatchObject({ client_id: expect.stringMatching(/^tkm_/), client_secret: expect.stringMatching(/^tkm_sk_/) });
    expect((await tokenimAuth('clients', 'show', '--client-id', String(created.json!.client_id))).json).toMatchObject({ resource_server: true });
  });
});
