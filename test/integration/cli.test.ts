// The tokenim-auth command: JSON on stdout, errors on stderr, exit 0 / 1 failure / 2 usage.
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../helpers/temp-dir.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
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
      client_secret_expires_at: 0 });
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

  it('clients revoke revokes once; the revoked client cannot be rotated', async () => {
    const { json } = await tokenimAuth('clients', 'create', '--name', 'Bot', '--type', 'service', '--scope', 'message:send');
    const revoked = await tokenimAuth('clients', 'revoke', '--client-id', String(json!.client_id));
    expect(revoked.json).toMatchObject({ client_id: json!.client_id, revoked_at: expect.any(String) });
    const rotate = await tokenimAuth('clients', 'rotate-secret', '--client-id', String(json!.client_id));
    expect(rotate.code).toBe(1);
    expect(rotate.stderr).toContain('no active application has this client id');
  });

  it('keys rotate adds a new key pair and keeps the previous generation published', async () => {
    const first = await tokenimAuth('keys', 'rotate');
    expect(first.json!.added_kids).toHaveLength(2);
    const second = await tokenimAuth('keys', 'rotate');
    expect(second.json!.retired_kids).not.toEqual(expect.arrayContaining(first.json!.added_kids as string[]));
    const third = await tokenimAuth('keys', 'rotate');
    expect(third.json!.retired_kids).toEqual(first.json!.added_kids);
  });

  it.each([
    [['clients', 'create', '--name', 'X'], 'missing --type'],
    [['clients', 'create', '--name', 'X', '--type', 'web', '--bogus'], "Unknown option '--bogus'"],
    [['users', 'delete'], 'unknown command "users delete"'],
    [['clients', 'rotate-secret', '--client-id', 'x', '--grace', 'soon'], '--grace takes a whole number of seconds'],
  ])('%j is a usage error: exit 2', async (args, message) => {
    const result = await tokenimAuth(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it.each([
    [['clients', 'create', '--name', 'X', '--type', 'robot'], 'type must be one of service, web, native'],
    [['clients', 'create', '--name', 'X', '--type', 'service'], 'a service application needs --scope'],
    [['clients', 'create', '--name', 'X', '--type', 'service', '--scope', 'message:delete'], 'unknown scope message:delete'],
    [['clients', 'create', '--name', 'X', '--type', 'web', '--redirect-uri', 'http://app.example/cb'], 'must use https://'],
    [['clients', 'create', '--name', 'X', '--type', 'web', '--redirect-uri', 'https://app.example/cb#x'], 'must not contain a fragment'],
    [['users', 'create', '--email', 'not-an-email', '--password', 'long enough pass'], 'enter a valid email address'],
    [['users', 'create', '--email', 'a@b.example', '--password', 'short'], 'at least 8 characters'],
  ])('%j fails with a clear message: exit 1', async (args, message) => {
    const result = await tokenimAuth(...args);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
  });
});
