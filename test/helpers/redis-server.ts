import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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

/** A redis-server on `port`, once it accepts connections. */
async function launch(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start within 10 s')), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) {
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
