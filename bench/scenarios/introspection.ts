// Token introspection (RFC 7662) of an opaque access token by a resource server. Ours issues an
// opaque access token when an app asks for OIDC scopes only (the token UserInfo accepts, see
// src/oidc/resource-indicators.ts); the API's own tokens are JWTs that need no introspection
// (oidc-provider answers unsupported_token_type for them). Each request authenticates the
// resource server, finds the token and its grant, and answers active: true.
import { basicAuth, combine, hammer, interleave, problems, type LoadTarget } from '../support/load.ts';
import { figure, type Figure } from '../support/report.ts';
import { signInAndExchange } from '../support/sign-in.ts';
import type { BenchClient } from '../support/servers.ts';
import type { Scenario } from '../support/suite.ts';

const introspect = (client: BenchClient, token: string): LoadTarget => ({ path: '/token/introspection', client, form: { token } });

/** The load would count `{"active":false}` as a success: check once that the token is live. */
async function assertActive(issuer: string, client: BenchClient, token: string) {
  const response = await fetch(`${issuer}/token/introspection`, { method: 'POST',
    headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }) });
  const body = await response.json() as { active?: boolean };
  if (response.status !== 200 || body.active !== true) throw new Error(`introspection at ${issuer}: ${response.status} ${JSON.stringify(body)}`);
}

export const introspectionScenario: Scenario = {
  name: 'introspection',
  summary: 'introspection of an opaque access token by a resource server, ours (embedded) vs bare',
  async run(suite): Promise<Figure[]> {
    const { seconds, rounds, warmupSeconds, connections } = suite.options;
    const fixtures = await suite.fixtures();
    const ours = await suite.ours({ redis: false, workers: 1 });
    const bare = await suite.bare();
    const oursToken = (await signInAndExchange(ours.url, fixtures.web, fixtures.account, 'openid profile email')).access_token;
    if (oursToken.split('.').length === 3) throw new Error('expected an opaque access token for scope "openid profile email", got a JWT');
    const [bareToken] = await bare.mint('opaque-access', 1);
    await assertActive(ours.url, fixtures.resourceServer, oursToken);
    await assertActive(bare.url, bare.resourceServer, bareToken!);
    const runOurs = (s: number) => hammer(ours, introspect(fixtures.resourceServer, oursToken), { seconds: s, connections });
    const runBare = (s: number) => hammer(bare, introspect(bare.resourceServer, bareToken!), { seconds: s, connections });
    suite.log(`introspection: warm-up, then ${rounds} × (ours, bare) at ${connections} connections`);
    await runOurs(warmupSeconds);
    await runBare(warmupSeconds);
    const samples = await interleave(rounds, () => runOurs(seconds), () => runBare(seconds));
    await assertActive(ours.url, fixtures.resourceServer, oursToken);
    const [a, b] = [combine(samples.ours), combine(samples.bare)];
    return [
      figure({ scenario: 'introspection of an opaque token, embedded mode', name: `introspections/s at ${connections} connections`,
        unit: '/s', ours: a.requestsPerSecond, baseline: b.requestsPerSecond, baselineName: 'bare', ...problems(a, b), detail: { ours: a, bare: b } }),
    ];
  },
};
