import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

export interface TestRedis {
  url: string;
  /** A prefix of its own for each caller, so suites sharing one REDIS_URL do not collide. */
  prefix: string;
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop; only for a private redis-server). */
  restart?(): Promise<void>;
}

const isCi = process.env.CI === 'true';

function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A redis-server on `port` (with `extra` arguments, or a config file first), once it accepts connections. */
async function launch(port: number, extra: string[] = [], ready = 'Ready to accept connections'): Promise<ChildProcess> {
  const args = extra[0]?.endsWith('.conf') ? extra : ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start within 10 s')), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}`));
    });
  });
  return child;
}

const terminate = (child: ChildProcess) => new Promise<void>((resolve) => {
  if (child.exitCode !== null) return resolve();
  child.once('exit', () => resolve());
  child.kill('SIGTERM');
});

async function spawnRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child = await launch(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    prefix: `test:${randomBytes(4).toString('hex')}:`,
    stop: () => terminate(child),
    async restart() {
      await terminate(child);
      child = await launch(port);
    },
  };
}

/**
 * REDIS_URL when set, else a private redis-server on a free port, else undefined (the caller
 * skips). With CI=true a missing Redis is an error: CI must run the Redis suites.
 */
export async function startTestRedis(): Promise<TestRedis | undefined> {
  const url = process.env.REDIS_URL;
  if (url) return { url, prefix: `test:${randomBytes(4).toString('hex')}:`, stop: async () => {} };
  if (hasRedisServer()) return spawnRedis();
  if (isCi) throw new Error('CI=true but no Redis: install redis-server or set REDIS_URL');
  return undefined;
}

const hasRedisCli = () => spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;

/** With CI=true a missing redis-server / redis-cli is an error; else undefined (the caller skips). */
function unavailable(what: string): undefined {
  if (isCi) throw new Error(`CI=true but no ${what}: install redis-server (it brings redis-cli)`);
  return undefined;
}

/** A Redis Cluster of three masters on free ports (REDIS_URL redis-cluster://…), once every slot is served. */
export async function startTestRedisCluster(): Promise<TestRedis | undefined> {
  if (!hasRedisServer() || !hasRedisCli()) return unavailable('redis-server and redis-cli for a Redis Cluster');
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children = await Promise.all(ports.map((port) => launch(port, ['--cluster-enabled', 'yes', '--dir', dir,
    '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'])));
  const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0',
    '--cluster-yes'], { encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  for (const deadline = Date.now() + 20_000; ;) {
    const states = ports.map((port) => spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' }).stdout);
    if (states.every((info) => info.includes('cluster_state:ok'))) break;
    if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    prefix: `test:${randomBytes(4).toString('hex')}:`,
    async stop() {
      await Promise.all(children.map(terminate));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis master watched by one Sentinel under the name `tokenim` (REDIS_URL redis-sentinel://…?name=tokenim). */
export async function startTestRedisSentinel(): Promise<TestRedis | undefined> {
  if (!hasRedisServer()) return unavailable('redis-server for Redis Sentinel');
  const dir = mkdtempSync(join(tmpdir(), 'redis-sentinel-'));
  const [masterPort, sentinelPort] = [await freePort(), await freePort()];
  const master = await launch(masterPort);
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, [`port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor tokenim 127.0.0.1 ${masterPort} 1`,
    'sentinel down-after-milliseconds tokenim 2000', ''].join('\n'));
  const sentinel = await launch(sentinelPort, [conf, '--sentinel'], 'Sentinel ID is');
  return {
    url: `redis-sentinel://127.0.0.1:${sentinelPort}?name=tokenim`,
    prefix: `test:${randomBytes(4).toString('hex')}:`,
    async stop() {
      await Promise.all([terminate(sentinel), terminate(master)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
