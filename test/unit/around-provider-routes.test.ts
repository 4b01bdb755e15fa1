// src/oidc/around-provider-routes.ts: the guards before the provider's routes and the rewrites of
// their answers after them, by route name, in one middleware.
import { describe, expect, it } from '@jest/globals';
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { aroundProviderRoutes, type AnswerRewrite, type RouteGuard } from '../../src/oidc/around-provider-routes.ts';

/** A Koa app whose last middleware stands in for the provider's routes: it names its route (ctx.oidc.route) and answers. */
async function serve(guards: RouteGuard[], rewrites: Record<string, AnswerRewrite[]>, routesRan: string[]) {
  const app = new Koa();
  app.use(aroundProviderRoutes(guards, rewrites));
  app.use((ctx) => {
    routesRan.push(ctx.path);
    (ctx as unknown as { oidc: { route: string } }).oidc = { route: ctx.path.slice(1) };
    ctx.body = { answeredBy: 'route' };
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('aroundProviderRoutes: our additions around the provider routes, in one layer', () => {
  it('a guard that answers stops the request before the routes; one that passes lets them run', async () => {
    const ran: string[] = [];
    const guard: RouteGuard = (ctx) => {
      if (ctx.path !== '/token') return false;
      return Promise.resolve().then(() => {
        ctx.status = 429;
        ctx.body = { error: 'slow_down' };
        return true;
      });
    };
    const server = await serve([guard], {}, ran);
    try {
      const token = await fetch(`${server.url}/token`);
      expect(token.status).toBe(429);
      expect(await token.json()).toEqual({ error: 'slow_down' });
      const jwks = await fetch(`${server.url}/jwks`);
      expect(await jwks.json()).toEqual({ answeredBy: 'route' });
      expect(ran).toEqual(['/jwks']);
    } finally {
      await server.close();
    }
  });

  it('rewrites change the answers of their own route only, in the order given', async () => {
    const ran: string[] = [];
    const rewrites: Record<string, AnswerRewrite[]> = {
      token: [
        (ctx) => { ctx.body = { answeredBy: 'first' }; },
        async (ctx) => { ctx.body = { answeredBy: `${(ctx.body as { answeredBy: string }).answeredBy} then second` }; },
      ],
      end_session: [(ctx) => { ctx.status = 202; }],
    };
    const server = await serve([], rewrites, ran);
    try {
      expect(await (await fetch(`${server.url}/token`)).json()).toEqual({ answeredBy: 'first then second' });
      expect((await fetch(`${server.url}/end_session`)).status).toBe(202);
      const other = await fetch(`${server.url}/introspection`);
      expect(other.status).toBe(200);
      expect(await other.json()).toEqual({ answeredBy: 'route' });
    } finally {
      await server.close();
    }
  });
});
