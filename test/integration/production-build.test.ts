// `npm start` runs the compiled build (`npm run build`: tsc into dist/, about 28 MB less per process
// than Node's type stripper, issue 12 item 4): the build compiles, and the server it makes serves,
// finding its views, config and package.json from dist/ as the sources do from src/.
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { spawnServer } from '../helpers/spawn-server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the production build', () => {
  it('compiles to dist/ and serves: discovery, a page in both languages, readiness', async () => {
    await promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
    const dir = makeTempDir('production-build');
    const server = await spawnServer({ DATA_DIR: dir.path }, 'dist/main.js');
    try {
      const discovery = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as { issuer: string };
      expect(discovery.issuer).toBe(server.url);
      const page = await (await fetch(`${server.url}/register?ui_locales=zh-CN`)).text();
      expect(page).toContain('<html lang="zh-CN">');
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
      dir.remove();
    }
  }, 60_000);
});
