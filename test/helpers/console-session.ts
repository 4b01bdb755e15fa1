// Signs a person in to the admin console over HTTP, the way a browser would: GET /admin sends them
// through the provider's sign-in as the account pages' client, password first, then a TOTP code
// (console roles require two factors), and the callback brings them back to /admin.
import { randomBytes } from 'node:crypto';
import type { AccountRecord } from '../../src/storage/contract.ts';
import { createAccount } from '../../src/accounts/create-account.ts';
import { seal } from '../../src/crypto/secret-box.ts';
import { generateTotpSecret } from '../../src/mfa/totp.ts';
import { generateRecoveryCodes, hashRecoveryCode } from '../../src/mfa/recovery-codes.ts';
import type { TestServer } from './test-server.ts';
import { CookieJar, csrfFrom, follow, request } from './browserless-login.ts';
import { codeAt } from './mfa-flow.ts';

export interface ConsoleSession {
  jar: CookieJar;
  account: AccountRecord;
  email: string;
  password: string;
  /** The base32 TOTP secret, for signing in again (signInWithTotp) or answering a step-up. */
  secret: string;
  recoveryCodes: string[];
}

const PERIOD_MS = 30_000;
const currentStep = () => Math.floor(Date.now() / PERIOD_MS);
let created = 0;

/**
 * Turns on TOTP for an account straight in the store (enrolment over HTTP is tested in mfa.test.ts),
 * recording a time step two before now as used, so that the codes of now and the next step are fresh.
 */
export async function enrolTotp(server: TestServer, accountId: string): Promise<{ secret: string; recoveryCodes: string[] }> {
  const { services } = server;
  const secret = generateTotpSecret();
  const sealed = seal(services.totpKey, secret, accountId);
  const recoveryCodes = generateRecoveryCodes();
  const hashes = recoveryCodes.map((code) => hashRecoveryCode(services.recoveryKey, code));
  const mfa = services.stores.durable.mfa;
  if (!(await mfa.savePendingTotp(accountId, sealed, new Date()))
    || !(await mfa.enableTotp(accountId, sealed, currentStep() - 2, hashes, new Date()))) {
    throw new Error(`could not enrol TOTP for ${accountId}`);
  }
  return { secret, recoveryCodes };
}

/** A code whose time step the account has not used yet; waits for the next step when both near ones are used. */
async function freshCode(server: TestServer, accountId: string, secret: string): Promise<string> {
  for (;;) {
    const lastUsed = (await server.services.stores.durable.mfa.findMfaByAccountId(accountId))?.lastUsedStep ?? -1;
    const now = currentStep();
    // ±1 step is accepted (src/mfa/totp.ts); keep away from the edge of the window.
    if (now > lastUsed && Date.now() % PERIOD_MS < PERIOD_MS - 2000) return codeAt(secret);
    if (now + 1 > lastUsed) return codeAt(secret, 1);
    await new Promise((resolve) => setTimeout(resolve, PERIOD_MS - (Date.now() % PERIOD_MS) + 100));
  }
}

/**
 * Signs in with password and TOTP code, starting at `path` (an /admin page); returns the jar and
 * the URL the sign-in ended on (the page that `path` leads to: a 403 page for someone without a console role).
 */
export async function signInWithTotp(
  server: TestServer,
  credentials: { accountId: string; email: string; password: string; secret: string },
  path = '/admin',
  jar = new CookieJar(),
): Promise<{ jar: CookieJar; url: string; status: number }> {
  const login = await follow(jar, server.issuer, `${server.issuer}${path}`);
  const loginHtml = await login.response.text();
  if (!/action="[^"]*\/login"/.test(loginHtml)) throw new Error(`no sign-in page at ${login.url} (${login.response.status})`);
  const posted = await request(jar, `${login.url}/login`,
    { form: { email: credentials.email, password: credentials.password, _csrf: csrfFrom(loginHtml) } });
  if (posted.status !== 303) throw new Error(`the password step answered ${posted.status}: ${(await posted.text()).slice(0, 300)}`);
  const codePage = await follow(jar, server.issuer, new URL(posted.headers.get('location')!, server.issuer).href);
  const codeHtml = await codePage.response.text();
  const action = /action="(\/interaction\/[^"]+\/mfa)"/.exec(codeHtml)?.[1];
  if (!action) throw new Error(`no code page after the password at ${codePage.url}: ${codeHtml.slice(0, 300)}`);
  const code = await freshCode(server, credentials.accountId, credentials.secret);
  const answered = await request(jar, new URL(action, server.issuer).href, { form: { code, _csrf: csrfFrom(codeHtml) } });
  if (answered.status !== 303) throw new Error(`the code step answered ${answered.status}: ${(await answered.text()).slice(0, 300)}`);
  const landed = await follow(jar, server.issuer, new URL(answered.headers.get('location')!, server.issuer).href);
  await landed.response.body?.cancel();
  if (!landed.url.startsWith(`${server.issuer}/admin`)) throw new Error(`the sign-in ended at ${landed.url}, not in the console`);
  return { jar, url: landed.url, status: landed.response.status };
}

/**
 * A new verified account with `roles`, TOTP enrolled, signed in with password + code; the jar then
 * opens /admin pages (or gets 403 there, for roles without console access).
 */
export async function signInToConsole(server: TestServer, roles: string[]): Promise<ConsoleSession> {
  created += 1;
  const email = `console-${roles.join('-') || 'none'}-${created}-${randomBytes(3).toString('hex')}@example.test`;
  const password = `console password ${randomBytes(6).toString('hex')}`;
  const account = await createAccount(server.services.accountDeps,
    { email, password, name: `Console ${roles.join(' ')}`, emailVerified: true, roles }, { kind: 'system', id: 'test' });
  const { secret, recoveryCodes } = await enrolTotp(server, account.id);
  const { jar } = await signInWithTotp(server, { accountId: account.id, email, password, secret });
  return { jar, account, email, password, secret, recoveryCodes };
}
