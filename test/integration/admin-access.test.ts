// Every /admin route, listed from the console's router itself (so a route added later is checked
// too): nobody is sent to sign in, a member gets 403 everywhere, an auditor gets 403 on every route
// that is not read-only, and a form post from another site is refused even for an admin (issue 11 item 5).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Middleware } from 'koa';
import { createAdminRoutes } from '../../src/http/admin-routes.ts';
import { ADMIN_AREAS } from '../../src/http/admin-areas.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CookieJar, csrfFrom, request } from '../helpers/browserless-login.ts';
import { signInToConsole, type ConsoleSession } from '../helpers/console-session.ts';

/** Stands in for every dependency: registering routes must not need them, handlers are never run. */
const anything: any = new Proxy(() => anything, { get: (_t, key) => (key === 'then' ? undefined : anything), apply: () => anything });

interface Route { method: 'GET' | 'POST'; path: string; level: 'read' | 'write' | undefined }

const routes: Route[] = createAdminRoutes(anything, ADMIN_AREAS).stack.flatMap((layer) => {
  const level = (layer.stack as (Middleware & { consoleLevel?: 'read' | 'write' })[]).find((fn) => fn.consoleLevel)?.consoleLevel;
  return layer.methods.filter((m): m is 'GET' | 'POST' => m === 'GET' || m === 'POST')
    // Parameters get values that name nothing: the checks run before any handler looks them up.
    .map((method) => ({ method, level, path: String(layer.path).replace(/:format/, 'csv').replace(/:[A-Za-z]+/g, 'not-there') }));
});

let server: TestServer;
let member: ConsoleSession;
let auditor: ConsoleSession;
let admin: ConsoleSession;
beforeAll(async () => {
  server = await startTestServer();
  [member, auditor, admin] = [await signInToConsole(server, ['member']), await signInToConsole(server, ['auditor']),
    await signInToConsole(server, ['admin'])];
}, 120_000);
afterAll(() => server.close());

/** A request as the session's browser would send it: form posts carry a valid CSRF token for that browser. */
async function send(jar: CookieJar, route: Route, headers: Record<string, string> = {}) {
  const form = route.method === 'POST' ? { _csrf: csrfFrom(await (await request(jar, `${server.issuer}/account`)).text()) } : undefined;
  const response = await request(jar, `${server.issuer}${route.path}`, { method: route.method, ...(form ? { form } : {}), headers });
  await response.body?.cancel();
  return response;
}

describe('the /admin routes', () => {
  it('are all guarded: each one names the console access it requires', () => {
    expect(routes.length).toBeGreaterThan(5);
    expect(routes.filter((r) => !r.level)).toEqual([]);
    expect(routes.filter((r) => r.method === 'POST' && r.level !== 'write')).toEqual([]);
  });

  it('send nobody to sign in', async () => {
    for (const route of routes) {
      if (route.method === 'GET') {
        const response = await send(new CookieJar(), route);
        expect([route.path, response.status, response.headers.get('location')?.split('?')[0]]).toEqual([route.path, 302, '/auth']);
      } else {
        const posted = await request(new CookieJar(), `${server.issuer}${route.path}`, { form: {} });
        await posted.body?.cancel();
        expect([route.path, posted.status, posted.headers.get('location')]).toEqual([route.path, 303, '/admin']);
      }
    }
  });

  it('answer 403 to a member on every route, and to an auditor on every route that changes or shows more than the ledger and authorizations', async () => {
    for (const route of routes) {
      expect([route.method, route.path, (await send(member.jar, route)).status]).toEqual([route.method, route.path, 403]);
      const auditorStatus = (await send(auditor.jar, route)).status;
      if (route.level === 'write') expect([route.method, route.path, auditorStatus]).toEqual([route.method, route.path, 403]);
      else expect([route.method, route.path, auditorStatus]).not.toEqual([route.method, route.path, 403]);
    }
  });

  it('let the admin in, and refuse the admin\'s browser a post from another site', async () => {
    for (const route of routes.filter((r) => r.method === 'GET')) {
      expect([route.path, (await send(admin.jar, route)).status]).not.toEqual([route.path, 403]);
    }
    for (const route of routes.filter((r) => r.method === 'POST')) {
      const forged = await send(admin.jar, route, { 'Sec-Fetch-Site': 'cross-site' });
      expect([route.path, forged.status]).toEqual([route.path, 403]);
    }
  });

  it('tell a member which role opens the console, in their language', async () => {
    const page = await request(member.jar, `${server.issuer}/admin/audit?ui_locales=zh-CN`);
    expect(page.status).toBe(403);
    const html = await page.text();
    expect(html).toContain('审计员');
    expect(html).toContain('管理员');
  });
});
