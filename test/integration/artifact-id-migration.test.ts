// Upgrading to artifact ids stored hashed (src/oidc/adapter.ts): a server that opens a database
// written before drops the artifacts stored under raw ids (people sign in to apps again) and the
// email-change links a password-only sign-in could request then; it keeps consent (grants) and the
// verification and reset links, which went to the account's own address.
import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { MIGRATIONS } from '../../src/storage/sqlite/open-sqlite.ts';
import { sqliteFile } from '../../src/storage/open-stores.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
const PRE_HASHING_VERSION = 4;

const dataDir = makeTempDir('pre-hashing');
let server: TestServer | undefined;
afterAll(async () => {
  await server?.close();
  dataDir.remove();
});

const id = () => randomBytes(32).toString('base64url');

/** A database as the last release left it, with artifacts stored under their raw ids. */
function writePreHashingDatabase(rows: { model: string; id: string; grantId?: string }[]): void {
  const db = new DatabaseSync(sqliteFile(dataDir.path));
  for (const migration of MIGRATIONS.slice(0, PRE_HASHING_VERSION)) db.exec(migration as string);
  db.exec(`PRAGMA user_version = ${PRE_HASHING_VERSION}`);
  const insert = db.prepare(`INSERT INTO oidc_artifacts (model, id, payload, grant_id, account_id, expires_at)
    VALUES (?, ?, ?, ?, 'ada', ?)`);
  for (const row of rows) {
    const payload = JSON.stringify({ jti: row.id, kind: row.model, grantId: row.grantId, accountId: 'ada' });
    insert.run(row.model, row.id, payload, row.grantId ?? null, Date.now() + 86_400_000);
  }
  db.close();
}

describe('opening a database written before artifact ids were stored hashed', () => {
  it('drops the tokens, sessions and email-change links; keeps the grant and the reset link', async () => {
    const [grantId, refreshToken, session, resetLink, emailChange] = [id(), id(), id(), id(), id()];
    writePreHashingDatabase([
      { model: 'Grant', id: grantId },
      { model: 'RefreshToken', id: refreshToken, grantId },
      { model: 'Session', id: session },
      { model: 'PasswordResetToken', id: resetLink },
      { model: 'EmailChangeToken', id: emailChange },
    ]);

    server = await startTestServer({ env: { DATA_DIR: dataDir.path } });

    const db = server.services.stores.sqlite!;
    expect((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBeGreaterThan(PRE_HASHING_VERSION);
    const left = db.prepare('SELECT model, id FROM oidc_artifacts ORDER BY model').all();
    expect(left).toEqual([{ model: 'Grant', id: grantId }, { model: 'PasswordResetToken', id: resetLink }]);
    expect(await server.services.stores.durable.artifacts.find('Grant', grantId)).toMatchObject({ accountId: 'ada' });
  });
});
