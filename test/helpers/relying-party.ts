// The application's side of a flow, done by openid-client (a certified RP library).
import * as client from 'openid-client';

export interface RelyingParty {
  clientId: string;
  /** Absent for public (native) clients. */
  secret?: string | undefined;
}

/** The issuer's configuration for `app` (over plain http: the test server is on loopback). */
export const discoverAs = (issuer: string, app: RelyingParty) => client.discovery(new URL(issuer), app.clientId, undefined,
  app.secret ? client.ClientSecretBasic(app.secret) : client.None(), { execute: [client.allowInsecureRequests] });

/**
 * An authorization code request with PKCE and state (scope `openid email` unless `extra` says
 * otherwise); `redeem` exchanges the code at a callback URL, checking the state.
 */
export async function authorizationRequest(issuer: string, app: RelyingParty, redirectUri: string, extra: Record<string, string> = {}) {
  const config = await discoverAs(issuer, app);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const parameters = {
    redirect_uri: redirectUri, scope: 'openid email', state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  };
  const redeem = (callback: string) =>
    client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
  return { config, parameters, url: client.buildAuthorizationUrl(config, parameters), redeem };
}
