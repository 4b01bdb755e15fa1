// A method a path does not take is 405 with Allow (RFC 9110 §15.5.6; checklist N3: TRACE → 405),
// on our pages and the provider's endpoints alike; 501 nowhere; a path nothing serves stays 404.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** node:http, not fetch: fetch refuses to send TRACE (Fetch standard, "forbidden methods"). */
const send = (method: string, path: string) => new Promise<{ status: number; allow: string | undefined }>((resolve, reject) => {
  const req = request(`${server.issuer}${path}`, { method }, (res) => {
    res.resume();
    res.on('end', () => resolve({ status: res.statusCode!, allow: res.headers.allow }));
  });
  req.on('error', reject);
  req.end();
});

const allowed = (header: string | undefined) => (header ?? '').split(',').map((m) => m.trim()).filter(Boolean).sort();

// Paths of each kind: ops, sign-up, signed-in pages, the console, an interaction step, and the
// provider's front channel and protocol endpoints (these reach the provider past our routers).
const KNOWN: [string, string[]][] = [
  ['/healthz', ['GET', 'HEAD']],
  ['/register', ['GET', 'HEAD', 'POST']],
  ['/account', ['GET', 'HEAD']],
  ['/account/password', ['POST']],
  ['/admin', ['GET', 'HEAD']],
  ['/interaction/some-uid/login', ['POST']],
  ['/auth', ['GET', 'HEAD', 'POST']],
  ['/session/end', ['GET', 'HEAD', 'POST']],
  ['/token', ['OPTIONS', 'POST']],
  ['/jwks', ['GET', 'HEAD', 'OPTIONS']],
  ['/.well-known/openid-configuration', ['GET', 'HEAD', 'OPTIONS']],
];

describe('methods a path does not take', () => {
  it('TRACE, PROPFIND and PUT on a known path: 405 with Allow naming what it takes', async () => {
    for (const [path, methods] of KNOWN) {
      for (const method of ['TRACE', 'PROPFIND', 'PUT']) {
        const answer = await send(method, path);
        expect([method, path, answer.status, allowed(answer.allow)]).toEqual([method, path, 405, methods]);
      }
    }
  });

  it('a path nothing serves: 404 whatever the method, never 501', async () => {
    for (const method of ['TRACE', 'PROPFIND', 'GET', 'PUT']) {
      expect([method, (await send(method, '/no-such-page')).status]).toEqual([method, 404]);
    }
  });

  it('OPTIONS on a page: Allow, no body (RFC 9110 §9.3.7); the methods it takes still work', async () => {
    const options = await send('OPTIONS', '/account');
    expect([options.status, allowed(options.allow)]).toEqual([204, ['GET', 'HEAD']]);
    expect((await send('GET', '/healthz')).status).toBe(200);
    expect((await send('GET', '/.well-known/openid-configuration')).status).toBe(200);
  });
});
