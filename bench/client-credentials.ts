// Throughput of grant_type=client_credentials on a real server (`node src/main.ts`, embedded
// SQLite), compared in the same run with GET /healthz on the same server as the baseline.
// Usage: npm run bench [-- --seconds 10 --connections 20]
import autocannon from 'autocannon';
import { parseArgs } from 'node:util';
import { cli, spawnServer } from '../test/helpers/spawn-server.ts';
import { makeTempDir } from '../test/helpers/temp-dir.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '20' } } });
const duration = Number(values.seconds);
const connections = Number(values.connections);

const dir = makeTempDir('bench');
const env = { DATA_DIR: dir.path };
const service = await cli(env, 'clients', 'create', '--name', 'Bench', '--type', 'service', '--scope', 'message:send');
const server = await spawnServer(env);

async function measure(title: string, path: string, options: Partial<autocannon.Options> = {}) {
  const result = await autocannon({ url: `${server.url}${path}`, duration, connections, ...options, title });
  return {
    title,
    requestsPerSecond: Math.round(result.requests.average),
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

try {
  const auth = Buffer.from(`${service.client_id}:${service.client_secret}`).toString('base64');
  await measure('warm-up', '/token', { duration: 2, method: 'POST',
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=message%3Asend' });
  const baseline = await measure('GET /healthz (baseline)', '/healthz');
  const tokens = await measure('POST /token client_credentials', '/token', {
    method: 'POST',
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=message%3Asend',
  });
  const report = { duration, connections, node: process.version, baseline, tokens,
    tokensVsBaseline: Number((tokens.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)) };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (tokens.non2xx || tokens.errors) process.exitCode = 1;
} finally {
  await server.stop();
  dir.remove();
}
