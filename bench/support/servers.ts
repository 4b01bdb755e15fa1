// The two servers every scenario compares: ours (`node src/main.ts`, as deployed) and bare
// oidc-provider (bench/bare-provider.ts), each in a process of its own on a free loopback port.
import { execFile, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cli, spawnServer } from '../../test/helpers/spawn-server.ts';
import { freePort } from '../../test/helpers/free-port.ts';
import { BARE_CLIENTS, REDIRECT_URI, type MintRequest } from '../bare-provider.ts';
import { processTree } from './process-stats.ts';

/** A client of either server: what a scenario needs to authenticate as it. */
export interface BenchClient { clientId: string; secret: string }

export interface RunningServer {
  url: string;
  pid: number;
  /** Processes in the server's tree (1 without cluster workers). */
  processes(): number;
  stop(): Promise<void>;
}

export interface BareServer extends RunningServer {
  service: BenchClient;
  web: BenchClient;
  resourceServer: BenchClient;
  mint(kind: MintRequest['kind'], count: number): Promise<string[]>;
}

export interface OurServer extends RunningServer {
  mode: 'embedded' | 'redis';
  workers: number;
}

/** What the suite registers once in our data directory (shared by every start of ours). */
export interface OurFixtures {
  dataDir: string;
  service: BenchClient;
  /** A first-party web app (no consent page) on REDIRECT_URI. */
  web: BenchClient;
  resourceServer: BenchClient;
  account: { email: string; password: string };
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** bench/bare-provider.ts as JavaScript, in test-output/ (ignored by git; node_modules resolves from there). */
function bareScript(): string {
  const file = join(ROOT, 'test-output', 'bare-provider.mjs');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, stripTypeScriptTypes(readFileSync(join(ROOT, 'bench', 'bare-provider.ts'), 'utf8')));
  return file;
}

const apiScopes = () => Object.keys((JSON.parse(readFileSync(join(ROOT, 'config', 'scopes.json'), 'utf8')) as
  { api: Record<string, unknown> }).api).join(' ');

export async function startBare(): Promise<BareServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const secret = randomBytes(32).toString('base64url');
  const child = fork(bareScript(), [], { env: { PATH: process.env.PATH ?? '', PORT: String(port), ISSUER: url, BARE_SECRET: secret,
    BARE_API_SCOPES: apiScopes() },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('message', (message: { type: string }) => (message.type === 'ready' ? resolve() : reject(new Error(JSON.stringify(message)))));
    child.once('exit', (code) => reject(new Error(`bare-provider exited with ${code}: ${stderr}`)));
  });
  let queue = Promise.resolve<unknown>(undefined);
  const mint = (kind: MintRequest['kind'], count: number) => {
    const minted = queue.then(() => new Promise<string[]>((resolve, reject) => {
      child.once('message', (message: { type: string; tokens?: string[]; message?: string }) =>
        (message.tokens ? resolve(message.tokens) : reject(new Error(message.message))));
      child.send({ kind, count } satisfies MintRequest);
    }));
    queue = minted.catch(() => undefined);
    return minted;
  };
  return {
    url, pid: child.pid!, processes: () => processTree(child.pid!).length, mint,
    service: { clientId: BARE_CLIENTS.service, secret },
    web: { clientId: BARE_CLIENTS.web, secret },
    resourceServer: { clientId: BARE_CLIENTS.resourceServer, secret },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The token endpoint's per-application limit (config rateLimits.tokenPerMinute) would answer 429
 * within the first second of load: raised to the most allowed, never reached by a bench, so that
 * requests are still counted as in a deployment (0, no limit, would skip the counting).
 */
export async function raiseTokenRateLimit(env: Record<string, string>, clientId: string): Promise<void> {
  await cli(env, 'clients', 'set-rate-limit', '--client-id', clientId, '--per-minute', '1000000')
    .catch((error: Error & { stderr?: string }) => {
      // A server from before per-application limits: nothing to raise.
      if (!/unknown command/.test(error.stderr ?? '')) throw error;
    });
}

/** Registers the bench's applications and account with the CLI, as an operator would. */
export async function registerOurFixtures(dataDir: string): Promise<OurFixtures> {
  const env = { DATA_DIR: dataDir };
  const asClient = (created: Record<string, unknown>): BenchClient =>
    ({ clientId: String(created.client_id), secret: String(created.client_secret) });
  const account = { email: 'bench@example.test', password: 'bench correct horse battery' };
  // One after the other: the first creates the database.
  const service = await cli(env, 'clients', 'create', '--name', 'Bench service', '--type', 'service', '--scope', 'message:send');
  const web = await cli(env, 'clients', 'create', '--name', 'Bench web', '--type', 'web', '--redirect-uri', REDIRECT_URI, '--first-party',
    '--scope', 'openid profile email offline_access message:send');
  const resourceServer = await cli(env, 'clients', 'create', '--name', 'Bench API', '--type', 'service', '--resource-server');
  await cli(env, 'users', 'create', '--email', account.email, '--password', account.password, '--name', 'Bench', '--verified');
  for (const client of [service, web]) await raiseTokenRateLimit(env, String(client.client_id));
  return { dataDir, service: asClient(service), web: asClient(web), resourceServer: asClient(resourceServer), account };
}

/** `npm start` compiles the sources first (`npm run build`, into dist/): done once per suite, as a deployment does. */
let built: Promise<void> | undefined;
function buildOnce(): Promise<void> {
  built ??= new Promise<void>((resolve, reject) => {
    execFile(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT },
      (error, _stdout, stderr) => (error ? reject(new Error(`npm run build failed: ${stderr}`)) : resolve()));
  });
  return built;
}

/**
 * Ours as `npm start` runs it. WORKERS is passed through; whether the server acted on it is read
 * from its process tree (cluster workers are its children), so a server without WORKERS support
 * reports 1 process and the caller says "not available" instead of a misleading figure.
 */
export async function startOurs(fixtures: OurFixtures, options: { redisUrl?: string; workers: number }): Promise<OurServer> {
  await buildOnce();
  const server = await spawnServer({ DATA_DIR: fixtures.dataDir, WORKERS: String(options.workers), LOG_LEVEL: 'warn',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}) }, 'dist/main.js');
  const pid = server.child.pid!;
  // Ready means one process answers; give the others a moment to fork and listen.
  const deadline = Date.now() + 5_000;
  while (options.workers > 1 && processTree(pid).length - 1 < options.workers && Date.now() < deadline) await sleep(100);
  if (options.workers > 1) await sleep(1_000);
  const children = processTree(pid).length - 1;
  return {
    url: server.url, pid, processes: () => processTree(pid).length,
    mode: options.redisUrl ? 'redis' : 'embedded',
    workers: children > 0 ? children : 1,
    async stop() {
      await server.stop();
    },
  };
}
