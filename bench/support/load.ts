// Load generation (autocannon, one process, loopback) and the A B A B interleaving every
// comparison uses, so that drift on a shared machine (other processes, thermal, caches) falls on
// both sides alike.
import autocannon from 'autocannon';
import type { BenchClient, RunningServer } from './servers.ts';
import { treeCpuSeconds } from './process-stats.ts';

export interface LoadResult {
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  requests: number;
  /** Answers other than 2xx, and connection errors or timeouts: any of them makes a figure suspect. */
  non2xx: number;
  errors: number;
  /** CPU time of the server's process tree per request answered. */
  cpuMicrosPerRequest: number;
}

/** RFC 6749 §2.3.1: client_secret_basic, id and secret form-encoded first. */
export const basicAuth = (client: BenchClient) =>
  `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;

export interface LoadOptions {
  connections: number;
  /** Run for this many seconds… */
  seconds?: number;
  /** …or until this many requests are answered. */
  amount?: number;
}

/** A fixed form POST from `client` (token, introspection), or per-request bodies from `requests`. */
export interface LoadTarget {
  path: string;
  client: BenchClient;
  form?: Record<string, string>;
  /** For bodies that change per request (a rotated refresh token): built when each request is sent. */
  requests?: autocannon.Request[];
}

export async function hammer(server: RunningServer, target: LoadTarget, options: LoadOptions): Promise<LoadResult> {
  const cpuBefore = treeCpuSeconds(server.pid);
  const result = await autocannon({
    url: `${server.url}${target.path}`,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.seconds ?? 10 }),
    method: 'POST',
    headers: { authorization: basicAuth(target.client), 'content-type': 'application/x-www-form-urlencoded' },
    ...(target.form ? { body: new URLSearchParams(target.form).toString() } : {}),
    ...(target.requests ? { requests: target.requests } : {}),
  });
  const cpu = treeCpuSeconds(server.pid) - cpuBefore;
  const answered = result.requests.total;
  return {
    requestsPerSecond: Math.round(answered / result.duration),
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    requests: answered,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpuMicrosPerRequest: answered ? Math.round((cpu / answered) * 1e6) : 0,
  };
}

/** Runs A then B, `rounds` times: A B A B. */
export async function interleave<A, B>(rounds: number, ours: () => Promise<A>, bare: () => Promise<B>): Promise<{ ours: A[]; bare: B[] }> {
  const samples = { ours: [] as A[], bare: [] as B[] };
  for (let round = 0; round < rounds; round += 1) {
    samples.ours.push(await ours());
    samples.bare.push(await bare());
  }
  return samples;
}

/** Non-2xx answers or errors make a figure suspect: the table says so next to it. */
export function problems(...sides: Pick<LoadResult, 'non2xx' | 'errors'>[]): { note?: string; isSuspect?: boolean } {
  const non2xx = sides.reduce((sum, side) => sum + side.non2xx, 0);
  const errors = sides.reduce((sum, side) => sum + side.errors, 0);
  return non2xx || errors ? { note: `${non2xx} non-2xx, ${errors} errors`, isSuspect: true } : {};
}

export const mean = (values: readonly number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);

/** The rounds of one side, as one result: means of rates and latencies, sums of counts. */
export function combine(results: readonly LoadResult[]): LoadResult & { samples: number[] } {
  return {
    requestsPerSecond: Math.round(mean(results.map((r) => r.requestsPerSecond))),
    latencyP50Ms: Number(mean(results.map((r) => r.latencyP50Ms)).toFixed(1)),
    latencyP99Ms: Number(mean(results.map((r) => r.latencyP99Ms)).toFixed(1)),
    requests: results.reduce((sum, r) => sum + r.requests, 0),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    cpuMicrosPerRequest: Math.round(mean(results.map((r) => r.cpuMicrosPerRequest))),
    samples: results.map((r) => r.requestsPerSecond),
  };
}
