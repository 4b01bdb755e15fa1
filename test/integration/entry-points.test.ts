// The process entry points on the wrong Node.js and on a busy port: one line that says what to do,
// exit 1, never a stack trace.
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../helpers/temp-dir.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY_POINTS = ['src/main.ts', 'src/cli/main.ts', 'src/resource-server/main.ts', 'bin/tokenim-auth.js'];
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
  it('the .js entry point prints one line and exits 1 before any TypeScript is loaded', async () => {
    const result = await run(systemNode!, ['bin/tokenim-auth.js', 'users', 'list']);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(NEEDS_24);
  });
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
  afterAll(() => { blocker?.close(); });

  it.each([
    ['the server', 'src/main.ts', 'tokenim-auth'],
    ['the example API', 'src/resource-server/main.ts', 'im-api'],
  ])('%s says so in one line and exits 1', async (_what, entry, program) => {
    if (!blocker) {
      blocker = createServer().listen(0);
      await once(blocker, 'listening');
      port = (blocker.address() as { port: number }).port;
    }
    const result = await run(process.execPath, [entry], { PORT: String(port), ISSUER: 'http://localhost:3000', LOG_LEVEL: 'warn' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${program}: port ${port} is in use; set PORT to another\n`);
  });
});
