import { expect } from '@jest/globals';
import * as client from 'openid-client';
import { generate } from 'otplib';
import type { TestServer } from './test-server.ts';
import { CookieJar, csrfFrom, follow, request } from './browserless-login.ts';

/** An RFC 6238 code for the time step `offset` steps from now. */
export const codeAt = (secret: string, offset = 0) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + offset * 30 });

export interface Step { url: string; html: string; status: number }

/** Sign-in steps over HTTP for the two-factor tests, against `server` as the app `app`. */
export function createMfaFlow(server: TestServer, app: { clientId: string; secret: string }, redirectUri: string, password: string) {
  async function authorization(extra: Record<string, string> = {}) {
    const config = await client.discovery(new URL(server.issuer), app.clientId, undefined, client.ClientSecretBasic(app.secret),
      { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: 'openid message:send', code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256', ...extra,
    });
    return { config, verifier, url: url.href };
  }

  async function open(jar: CookieJar, url: string): Promise<Step> {
    const step = await follow(jar, server.issuer, url);
    return { url: step.url, html: step.url.startsWith(server.issuer) ? await step.response.text() : '', status: step.response.status };
  }

  /** Posts the form of `step` whose action ends with `path`, then follows redirects. */
  async function post(jar: CookieJar, step: Step, path: string, form: Record<string, string>): Promise<Step & { postStatus: number }> {
    const action = new RegExp(`action="([^"]*${path})"`).exec(step.html)?.[1];
    if (!action) throw new Error(`no form ${path} on ${step.url}`);
    const response = await request(jar, new URL(action, server.issuer).href, { form: { ...form, _csrf: csrfFrom(step.html) } });
    const location = response.headers.get('location');
    if (response.status !== 303 || !location) {
      return { url: step.url, html: await response.text(), status: response.status, postStatus: response.status };
    }
    return { ...(await open(jar, new URL(location, server.issuer).href)), postStatus: 303 };
  }

  /** The password step of a fresh sign-in; returns the page that follows it. */
  async function afterPassword(email: string, jar = new CookieJar(), extra: Record<string, string> = {}) {
    const login = await open(jar, (await authorization(extra)).url);
    return post(jar, login, '/login', { email, password });
  }

  /** Enrols through /account/security; returns the TOTP secret and the recovery codes. */
  async function enrol(email: string) {
    const jar = new CookieJar();
    const consent = await afterPassword(email, jar);
    await post(jar, consent, '/consent', { decision: 'allow' });
    const page = await open(jar, `${server.issuer}/account/security/totp`);
    expect(page.html).toMatch(/<a href="otpauth:\/\/totp\/TokenIM:[^"]+secret=/);
    expect(page.html).toContain('<svg');
    const secret = /data-totp-secret>([A-Z2-7]+)</.exec(page.html)![1]!;
    expect(secret.length).toBeGreaterThanOrEqual(32); // 160 bits in base32
    const wrong = await post(jar, page, '/account/security/totp', { current_password: password, code: '000000' });
    expect(wrong.status).toBe(400);
    // A session alone cannot turn the factor on: the password goes with the code (ASVS 5 6.4.3).
    const noPassword = await post(jar, page, '/account/security/totp', { current_password: `${password}!`, code: await codeAt(secret) });
    expect(noPassword.status).toBe(400);
    expect(noPassword.html).toContain('data-totp-secret');
    const done = await post(jar, page, '/account/security/totp', { current_password: password, code: await codeAt(secret) });
    const codes = [...done.html.matchAll(/data-recovery-code>([a-z0-9-]+)</g)].map((m) => m[1]!);
    expect(codes).toHaveLength(10);
    return { secret, codes };
  }

  return { authorization, open, post, afterPassword, enrol };
}
