// Issue 10, item 5: the token endpoint's throughput with last-use tracking on, against the same
// server setup with it off (TRACK_SECRET_LAST_USE=false), measured alternately A B A B in one run.
// Target: at most 3 % apart. Usage: node bench/last-use-tracking.ts [--seconds 5 --connections 20 --rounds 8 --restarts 4]
import autocannon from 'autocannon';
import { parseArgs } from 'node:util';
import { cli, spawnServer } from '../test/helpers/spawn-server.ts';
import { makeTempDir } from '../test/helpers/temp-dir.ts';
import { raiseTokenRateLimit } from './support/servers.ts';

const { values } = parseArgs({ options: {
  seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '20' }, rounds: { type: 'string', default: '8' },
  restarts: { type: 'string', default: '4' } } });
const duration = Number(values.seconds);
const connections = Number(values.connections);
const rounds = Number(values.rounds);
const restarts = Number(values.restarts);

async function start(trackLastUse: boolean) {
  const dir = makeTempDir(`bench-last-use-${trackLastUse}`);
  const env = { DATA_DIR: dir.path, TRACK_SECRET_LAST_USE: String(trackLastUse) };
  const service = await cli(env, 'clients', 'create', '--name', 'Bench', '--type', 'service', '--scope', 'message:send');
  await raiseTokenRateLimit(env, String(service.client_id));
  const server = await spawnServer(env);
  const auth = Buffer.from(`${service.client_id}:${service.client_secret}`).toString('base64');
  const run = async (seconds: number) => {
    const result = await autocannon({ url: `${server.url}/token`, duration: seconds, connections, method: 'POST',
      headers: { authorization: `Basic ${auth}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=message%3Asend' });
    if (result.non2xx || result.errors) throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
    return Math.round(result.requests.average);
  };
  return { run, stop: async () => { await server.stop(); dir.remove(); } };
}

// A server process has luck of its own (JIT decisions, memory placement): one pair of processes
// differed by ±5 % in either direction, round after round, whichever had tracking on. So the pair is
// started afresh `restarts` times, each pair measured A B B A, and the means taken over all of them.
const samples = { on: [] as number[], off: [] as number[] };
for (let restart = 0; restart < restarts; restart += 1) {
  const on = await start(true);
  const off = await start(false);
  try {
    await on.run(2);
    await off.run(2);
    for (let i = 0; i < Math.ceil(rounds / restarts); i += 1) {
      for (const which of (i + restart) % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        samples[which].push(await (which === 'on' ? on : off).run(duration));
      }
    }
  } finally {
    await on.stop();
    await off.stop();
  }
}
const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
const difference = (mean(samples.on) - mean(samples.off)) / mean(samples.off);
process.stdout.write(`${JSON.stringify({ duration, connections, rounds, restarts, node: process.version,
  requestsPerSecond: { trackingOn: samples.on, trackingOff: samples.off, meanOn: mean(samples.on), meanOff: mean(samples.off) },
  difference: Number(difference.toFixed(3)), withinThreePercent: Math.abs(difference) <= 0.03 }, null, 2)}\n`);
if (Math.abs(difference) > 0.03) process.exitCode = 1;
