// Same-core A/B: which of two builds of ours costs less per client-credentials token, when the
// difference is a few per cent. The suite (bench/run.ts) starts one server process per scenario,
// and two processes of one build can differ by about 5 % in CPU per token (what the JIT made of
// them); a single timed run also moves with the machine's load. So this starts several processes
// of each build and of bare oidc-provider, all at once, pins them to one core and itself (the load
// generator) to another when taskset is there, and sends short bursts to each in turn. It prints
// the CPU per token of each build, of each of its processes, and its ratio to bare.
//
// Usage: npm run build && cp -r dist dist-after && git checkout <before> && npm run build && git checkout -
//        node bench/same-core-ab.ts --build dist --build dist-after [--processes 3] [--rounds 5] [--seconds 2] [--redis]
// A build is a directory beside src/ holding main.js (so that it finds config/ and views/).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnServer } from '../test/helpers/spawn-server.ts';
import { startTestRedis } from '../test/helpers/redis-server.ts';
import { tokenRequest } from './scenarios/client-credentials.ts';
import { hammer } from './support/load.ts';
import { registerOurFixtures, startBare, type BenchClient, type RunningServer } from './support/servers.ts';

const { values } = parseArgs({ options: {
  build: { type: 'string', multiple: true, default: ['dist'] }, processes: { type: 'string', default: '3' },
  rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '2' }, redis: { type: 'boolean', default: false },
} });
const [processes, rounds, seconds] = [values.processes, values.rounds, values.seconds].map(Number) as [number, number, number];
for (const build of values.build) {
  if (!existsSync(join(build, 'main.js'))) throw new Error(`${build}/main.js not found: run npm run build first`);
}

/** Pins a process and its threads (the thread pool signs the tokens) to one CPU; false when it cannot. */
function pin(pid: number, cpu: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-pc', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Measured { label: string; server: RunningServer; client: BenchClient; cpuMicros: number; requests: number }

const redis = values.redis ? await startTestRedis() : undefined;
if (values.redis && !redis) throw new Error('--redis needs redis-server on the PATH or REDIS_URL');
const fixtures = await registerOurFixtures(mkdtempSync(join(tmpdir(), 'tokenim-ab-')));
const measured: Measured[] = [];
try {
  for (let i = 0; i < processes; i += 1) {
    for (const build of values.build) {
      const started = await spawnServer({ DATA_DIR: fixtures.dataDir, WORKERS: '1', ...(redis ? { REDIS_URL: redis.url } : {}) },
        join(build, 'main.js'));
      const server = { url: started.url, pid: started.child.pid!, processes: () => 1, stop: async () => { await started.stop(); } };
      measured.push({ label: build, server, client: fixtures.service, cpuMicros: 0, requests: 0 });
    }
    const bare = await startBare();
    measured.push({ label: 'bare', server: bare, client: bare.service, cpuMicros: 0, requests: 0 });
  }
  const cpus = availableParallelism();
  const pinned = cpus > 1 && pin(process.pid, 0) && measured.every((m) => pin(m.server.pid, cpus - 1));
  console.log(pinned ? `servers on CPU ${cpus - 1}, load generator on CPU 0`
    : 'not pinned (taskset missing or one CPU): expect more noise');
  for (const m of measured) await hammer(m.server, tokenRequest(m.client), { seconds: 2, connections: 32 });
  for (let round = 0; round < rounds; round += 1) {
    for (const m of measured) {
      const result = await hammer(m.server, tokenRequest(m.client), { seconds, connections: 32 });
      if (result.non2xx || result.errors) throw new Error(`${m.label}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      m.cpuMicros += result.cpuMicrosPerRequest * result.requests;
      m.requests += result.requests;
    }
  }
} finally {
  await Promise.all(measured.map((m) => m.server.stop()));
  await redis?.stop();
}

const perToken = (ms: Measured[]) => ms.reduce((sum, m) => sum + m.cpuMicros, 0) / ms.reduce((sum, m) => sum + m.requests, 0);
const bareCost = perToken(measured.filter((m) => m.label === 'bare'));
for (const label of [...values.build, 'bare']) {
  const own = measured.filter((m) => m.label === label);
  const each = own.map((m) => (m.cpuMicros / m.requests).toFixed(0)).join(' ');
  console.log(`${label.padEnd(16)} ${perToken(own).toFixed(1)} µs CPU per token (processes: ${each})`
    + (label === 'bare' ? '' : `; bare's cost / this: ${(bareCost / perToken(own)).toFixed(3)}×`));
}
