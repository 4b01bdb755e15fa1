// grant_type=refresh_token (RFC 6749 §6) with rotation (RFC 9700 §4.14.2): each connection keeps
// one refresh token and presents the new one it got back, so every request consumes a token,
// stores its successor and signs a JWT access token and an ID token. Ours gets its tokens from
// real sign-ins (one per chain); bare oidc-provider mints the same grant and token directly.
import type autocannon from 'autocannon';
import { combine, hammer, interleave, problems, type LoadTarget } from '../support/load.ts';
import { figure, type Figure } from '../support/report.ts';
import { signInAndExchange, signInMany } from '../support/sign-in.ts';
import type { BenchClient, RunningServer } from '../support/servers.ts';
import type { Scenario, Suite } from '../support/suite.ts';

export const REFRESH_SCOPE = 'openid offline_access profile email message:send';

/** A request per connection that takes a token from `pool` and puts back the one it got. */
function rotatingRefresh(pool: string[]): autocannon.Request[] {
  return [{
    method: 'POST',
    path: '/token',
    setupRequest: (request) => ({ ...request, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: pool.shift() ?? '' }).toString() }),
    onResponse: (status, body) => {
      if (status === 200) pool.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
    },
  }];
}

/**
 * Runs load on `server` with one refresh chain per connection. Tokens in flight when a run ends
 * are lost (their successor was never read), so the pool is topped up before each run.
 */
function refreshRunner(server: RunningServer, client: BenchClient, connections: number, obtain: (count: number) => Promise<string[]>) {
  const pool: string[] = [];
  return async (seconds: number) => {
    if (pool.length < connections) pool.push(...await obtain(connections - pool.length));
    const target: LoadTarget = { path: '/token', client, requests: rotatingRefresh(pool) };
    return hammer(server, target, { seconds, connections });
  };
}

async function refresh(suite: Suite, redis: boolean): Promise<Figure[]> {
  const { seconds, rounds, warmupSeconds, connections, signInConcurrency } = suite.options;
  const mode = redis ? 'Redis mode' : 'embedded mode';
  const fixtures = await suite.fixtures();
  const ours = await suite.ours({ redis, workers: 1 });
  const bare = await suite.bare();
  const signIn = () => signInAndExchange(ours.url, fixtures.web, fixtures.account, REFRESH_SCOPE);
  const runOurs = refreshRunner(ours, fixtures.web, connections, async (count) =>
    (await signInMany(count, signInConcurrency, signIn)).map((tokens) => {
      if (!tokens.refresh_token) throw new Error('the sign-in gave no refresh token');
      return tokens.refresh_token;
    }));
  const runBare = refreshRunner(bare, bare.web, connections, (count) => bare.mint('refresh', count));
  suite.log(`refresh, ${mode}: warm-up, then ${rounds} × (ours, bare) at ${connections} connections`);
  await runOurs(warmupSeconds);
  await runBare(warmupSeconds);
  const samples = await interleave(rounds, () => runOurs(seconds), () => runBare(seconds));
  const [a, b] = [combine(samples.ours), combine(samples.bare)];
  const scenario = `refresh token rotation, ${mode}`;
  return [
    figure({ scenario, name: `refreshes/s at ${connections} connections`, unit: '/s', ours: a.requestsPerSecond, baseline: b.requestsPerSecond,
      baselineName: 'bare', ...problems(a, b), detail: { ours: a, bare: b } }),
    figure({ scenario, name: 'CPU per refresh', unit: 'µs', ours: a.cpuMicrosPerRequest, baseline: b.cpuMicrosPerRequest, baselineName: 'bare',
      ...problems(a, b) }),
  ];
}

export const refreshScenarios: Scenario[] = [
  { name: 'refresh/redis', summary: 'rotating refresh tokens, ours (Redis mode) vs bare', run: (suite) => refresh(suite, true) },
  { name: 'refresh/embedded', summary: 'rotating refresh tokens, ours (embedded mode) vs bare', run: (suite) => refresh(suite, false) },
];
