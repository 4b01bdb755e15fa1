// One full sign-in as an app does it, over plain HTTP: the authorization request (PKCE S256,
// RFC 7636), the login page and its form (argon2id on the server), the redirect with the code,
// and the code exchange at the token endpoint (RFC 6749 §4.1.3). No browser, no RP library: the
// client's own cost stays small next to the server's.
import { createHash, randomBytes } from 'node:crypto';
import { signInAndConsent } from '../../test/helpers/browserless-login.ts';
import { REDIRECT_URI } from '../bare-provider.ts';
import { basicAuth } from './load.ts';
import type { BenchClient } from './servers.ts';

export interface TokenResponse { access_token: string; refresh_token?: string; id_token?: string; scope?: string }

export async function signInAndExchange(issuer: string, web: BenchClient, account: { email: string; password: string },
  scope: string): Promise<TokenResponse> {
  const verifier = randomBytes(32).toString('base64url');
  const authorization = `${issuer}/auth?${new URLSearchParams({
    client_id: web.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope, state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    // OIDC Core §11: offline_access is granted only with prompt=consent.
    ...(scope.includes('offline_access') ? { prompt: 'consent' } : {}),
  })}`;
  const callback = new URL(await signInAndConsent(issuer, authorization, account));
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code at the callback: ${callback.href}`);
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(web), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
  });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`code exchange answered ${response.status}: ${body.slice(0, 300)}`);
  return JSON.parse(body) as TokenResponse;
}

/** `count` sign-ins, `concurrency` at a time. */
export async function signInMany(count: number, concurrency: number, signIn: () => Promise<TokenResponse>): Promise<TokenResponse[]> {
  const results: TokenResponse[] = [];
  let started = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (started < count) {
      started += 1;
      results.push(await signIn());
    }
  }));
  return results;
}
