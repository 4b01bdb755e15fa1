// The process entry points on the wrong Node.js and on a busy port: one line that says what to do,
// exit 1, never a stack trace.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeTempDir } from '../helpers/temp-dir.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// What README and package.json run: the .js shims (npm run example:im-api, npx tokenim-auth,
// node bin/server.js), npm start's dist/main.js, and the sources behind them.
const SHIMS = ['bin/server.js', 'bin/tokenim-auth.js', 'bin/im-api.js'];
const ENTRY_POINTS = ['src/main.ts', 'src/cli/main.ts', 'src/resource-server/main.ts', ...SHIMS];
const NEEDS_24 = /^TokenIM Auth needs Node\.js 24 or newer \(this is [\d.]+\); use npm start \/ npx tokenim-auth, which bring it\n$/;
const dir = makeTempDir('entry-points');
afterAll(() => dir.remove());

function run(node: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(node, args, { cwd: ROOT, timeout: 20_000, env: { PATH: process.env.PATH ?? '', DATA_DIR: dir.path, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
  });
}

/** A `node` on PATH older than 24 (the system one here), not the project's pinned Node 24. */
function olderSystemNode(): string | undefined {
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(folder, 'node');
    if (folder.includes('node_modules') || !existsSync(candidate)) continue;
    try {
      const major = Number(execFileSync(candidate, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).trim());
      if (major < 24) return candidate;
    } catch {
      // Not runnable: try the next one.
    }
  }
  return undefined;
}

const systemNode = olderSystemNode();

(systemNode ? describe : describe.skip)(`on the system Node.js (${systemNode ?? 'not run: no node older than 24 on PATH'})`, () => {
  // Node before 24 refuses a .ts file with a stack before any code in it runs: every documented
  // entry point is JavaScript that checks the version before it loads TypeScript.
  it.each(SHIMS)('%s prints one line and exits 1 before any TypeScript is loaded', async (entry) => {
    const result = await run(systemNode!, [entry, ...(entry === 'bin/tokenim-auth.js' ? ['users', 'list'] : [])]);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(NEEDS_24);
  });

  it('npm start\'s compiled dist/main.js prints the same line', async () => {
    // Built here, into a folder of its own laid out as the package is (dist/ beside bin/ and
    // node_modules/), so that a stale or absent dist/ of the working tree proves nothing.
    const built = makeTempDir('entry-points-build');
    try {
      symlinkSync(join(ROOT, 'bin'), join(built.path, 'bin'));
      symlinkSync(join(ROOT, 'node_modules'), join(built.path, 'node_modules'));
      copyFileSync(join(ROOT, 'package.json'), join(built.path, 'package.json'));
      // --noCheck: the emitted JavaScript is the point here; `npm run typecheck` checks the types.
      await promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json',
        '--noCheck', '--outDir', join(built.path, 'dist')], { cwd: ROOT });
      const result = await run(systemNode!, [join(built.path, 'dist/main.js')]);
      expect(result).toMatchObject({ code: 1, stdout: '' });
      expect(result.stderr).toMatch(NEEDS_24);
    } finally {
      built.remove();
    }
  }, 60_000);
});

describe('on a Node.js older than 24 that can load TypeScript (e.g. 22.18+ with type stripping)', () => {
  // Node 24 made to report 22.18.0 before the entry point loads: what a Node 22 user would see.
  const pretend22 = `--import=data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:"22.18.0"}})`;

  it.each(ENTRY_POINTS)('%s prints one line and exits 1, before it reads any configuration or opens a store', async (entry) => {
    const result = await run(process.execPath, [pretend22, entry], { PORT: 'not-a-port' });
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/TokenIM Auth needs Node\.js 24 or newer \(this is 22\.18\.0\)/);
    expect(result.stderr).toMatch(NEEDS_24);
  });
});

describe('a busy port', () => {
  let blocker: Server;
  let port: number;
  beforeAll(async () => {
    blocker = createServer().listen(0);
    await once(blocker, 'listening');
    port = (blocker.address() as { port: number }).port;
  });
  afterAll(() => { blocker?.close(); });

  it.each([
    ['the server', 'src/main.ts', 'tokenim-auth'],
    ['the example API', 'src/resource-server/main.ts', 'im-api'],
  ])('%s says so in one line and exits 1', async (_what, entry, program) => {
    const result = await run(process.execPath, [entry], { PORT: String(port), ISSUER: 'http://localhost:3000', LOG_LEVEL: 'warn' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${program}: port ${port} is in use; set PORT to another\n`);
  });

  it('the server with WORKERS=2 says so once (its primary, not each worker), logs no failure and exits 1', async () => {
    const result = await run(process.execPath, ['bin/server.js'], { PORT: String(port), WORKERS: '2', ISSUER: 'http://localhost:3000' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`tokenim-auth: port ${port} is in use; set PORT to another\n`);
    // The log (stdout, JSON lines) has the primary's start and nothing at error level or above.
    const levels = result.stdout.trim().split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { level: number }).level);
    expect(levels.filter((level) => level >= 50)).toEqual([]);
  });
});
