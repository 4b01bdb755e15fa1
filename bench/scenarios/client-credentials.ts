// grant_type=client_credentials (RFC 6749 §4.4): a service's JWT access token for the TokenIM
// API, ours against bare oidc-provider issuing the same ES256 RFC 9068 token, A B A B. One
// worker: throughput (target ≥ 0.9×), CPU per token and p99 at 64 connections (target < 50 ms).
// Two workers: throughput next to one worker's, without a target (see the README: on two cores
// shared with the load generator no gain is expected).
import { combine, hammer, interleave, problems, type LoadTarget } from '../support/load.ts';
import { figure, type Figure } from '../support/report.ts';
import type { BenchClient } from '../support/servers.ts';
import type { Scenario, Suite } from '../support/suite.ts';

export const tokenRequest = (client: BenchClient): LoadTarget =>
  ({ path: '/token', client, form: { grant_type: 'client_credentials', scope: 'message:send' } });

const label = (redis: boolean) => (redis ? 'Redis mode' : 'embedded mode');

async function oneWorker(suite: Suite, redis: boolean): Promise<Figure[]> {
  const { seconds, rounds, warmupSeconds, connections, p99Connections } = suite.options;
  const fixtures = await suite.fixtures();
  const ours = await suite.ours({ redis, workers: 1 });
  const bare = await suite.bare();
  const run = (server: typeof ours | typeof bare, client: BenchClient, load: number) =>
    () => hammer(server, tokenRequest(client), { seconds, connections: load });
  suite.log(`client credentials, ${label(redis)}: warm-up, then ${rounds} × (ours, bare) at ${connections} and at ${p99Connections} connections`);
  await hammer(ours, tokenRequest(fixtures.service), { seconds: warmupSeconds, connections });
  await hammer(bare, tokenRequest(bare.service), { seconds: warmupSeconds, connections });
  const throughput = await interleave(rounds, run(ours, fixtures.service, connections), run(bare, bare.service, connections));
  const tail = await interleave(rounds, run(ours, fixtures.service, p99Connections), run(bare, bare.service, p99Connections));
  const [a, b, a64, b64] = [combine(throughput.ours), combine(throughput.bare), combine(tail.ours), combine(tail.bare)];
  const scenario = `client credentials, ${label(redis)}, 1 worker`;
  return [
    figure({ scenario, name: `tokens/s at ${connections} connections`, unit: '/s', ours: a.requestsPerSecond, baseline: b.requestsPerSecond,
      baselineName: 'bare', target: { kind: 'ratio-at-least', value: 0.9 }, ...problems(a, b), detail: { ours: a, bare: b } }),
    figure({ scenario, name: 'CPU per token', unit: 'µs', ours: a.cpuMicrosPerRequest, baseline: b.cpuMicrosPerRequest, baselineName: 'bare',
      ...problems(a, b) }),
    figure({ scenario, name: `p99 latency at ${p99Connections} connections`, unit: 'ms', ours: a64.latencyP99Ms, baseline: b64.latencyP99Ms,
      baselineName: 'bare', target: { kind: 'below', value: 50 }, ...problems(a64, b64), detail: { ours: a64, bare: b64 } }),
  ];
}

async function twoWorkers(suite: Suite, redis: boolean): Promise<Figure[]> {
  const { seconds, rounds, warmupSeconds, connections } = suite.options;
  const scenario = `client credentials, ${label(redis)}, 2 workers`;
  const name = `tokens/s at ${connections} connections`;
  const fixtures = await suite.fixtures();
  const ours = await suite.ours({ redis, workers: 2 });
  if (ours.workers < 2) {
    return [figure({ scenario, name, unit: '/s', ours: null, baseline: null, baselineName: 'bare',
      note: '2 workers: not available (the server started no cluster workers for WORKERS=2)' })];
  }
  const bare = await suite.bare();
  suite.log(`client credentials, ${label(redis)}, ${ours.workers} workers: warm-up, then ${rounds} × (ours, bare)`);
  await hammer(ours, tokenRequest(fixtures.service), { seconds: warmupSeconds, connections });
  await hammer(bare, tokenRequest(bare.service), { seconds: warmupSeconds, connections });
  const samples = await interleave(rounds, () => hammer(ours, tokenRequest(fixtures.service), { seconds, connections }),
    () => hammer(bare, tokenRequest(bare.service), { seconds, connections }));
  const [a, b] = [combine(samples.ours), combine(samples.bare)];
  const single = suite.figures.find((f) => f.scenario === `client credentials, ${label(redis)}, 1 worker` && f.name === name);
  const versusOne = single?.ours ? `${(a.requestsPerSecond / single.ours).toFixed(2)}× one worker` : undefined;
  const { note, isSuspect } = problems(a, b);
  return [figure({ scenario, name, unit: '/s', ours: a.requestsPerSecond, baseline: b.requestsPerSecond, baselineName: 'bare (1 process)',
    note: [versusOne, note].filter(Boolean).join('; ') || undefined, isSuspect, detail: { workers: ours.workers, ours: a, bare: b } })];
}

export const clientCredentialsScenarios: Scenario[] = [
  { name: 'client-credentials/embedded', summary: 'client credentials, embedded mode, 1 worker (+ p99 at 64 connections)',
    run: (suite) => oneWorker(suite, false) },
  { name: 'client-credentials/embedded-2-workers', summary: 'client credentials, embedded mode, WORKERS=2',
    run: (suite) => twoWorkers(suite, false) },
  { name: 'client-credentials/redis', summary: 'client credentials, Redis mode, 1 worker (+ p99 at 64 connections)',
    run: (suite) => oneWorker(suite, true) },
  { name: 'client-credentials/redis-2-workers', summary: 'client credentials, Redis mode, WORKERS=2',
    run: (suite) => twoWorkers(suite, true) },
];
