// Slow and oversized requests are cut off with 408 / 413 / 431 in bounded time, never a hang
// (issue 13 item 6): a client that trickles its headers, one that trickles its body, a form body over
// the limit, and headers over Node's 16 KiB.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 2000;

beforeAll(async () => {
  server = await startTestServer({ configure: (config) => ({ ...config,
    http: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS } }) });
});
afterAll(() => server.close());

/**
 * Sends `first` on a raw connection, then one byte of `trickle` every 200 ms; resolves with the
 * status line the server answers and when, or with 'closed' when it closes without answering.
 */
function slowClient(first: string, trickle = ''): Promise<{ status: string; afterMs: number }> {
  const { port } = new URL(server.issuer);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(first));
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < trickle.length && !socket.destroyed) socket.write(trickle[sent++]!);
    }, 200);
    let answer = '';
    const done = (status: string) => {
      clearInterval(timer);
      socket.destroy();
      resolve({ status, afterMs: Date.now() - started });
    };
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) done(answer.split('\r\n')[0]!);
    });
    socket.on('close', () => done(answer.split('\r\n')[0] || 'closed'));
    socket.on('error', () => undefined);
  });
}

describe('slow and oversized requests', () => {
  it('headers that never end: 408 shortly after the headers timeout', async () => {
    const { status, afterMs } = await slowClient('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: 1111111111111111111111111111\r\n');
    expect(status).toBe('HTTP/1.1 408 Request Timeout');
    expect(afterMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(afterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
  });

  it('a body that never ends: 408 shortly after the request timeout', async () => {
    const body = 'grant_type=client_credentials&scope=message%3Asend';
    const { status, afterMs } = await slowClient(
      `POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length + 100}\r\n\r\n`,
      body);
    expect(status).toBe('HTTP/1.1 408 Request Timeout');
    expect(afterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 2500);
  });

  it('a form over its limit: 413 with a message in the person\'s language; headers over 16 KiB: 431', async () => {
    const tooLarge = await fetch(`${server.issuer}/register`, { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', 'accept-language': 'zh-CN' },
      body: `name=${'x'.repeat(64 * 1024)}` });
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.text()).toContain('您提交的表单过大');
    const tokenBody = await fetch(`${server.issuer}/token`, { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&x=${'x'.repeat(2 * 1024 * 1024)}` });
    // The token endpoint answers in OAuth's terms (RFC 6749 §5.2: invalid_request), at once: oidc-provider stops reading at 56 KiB.
    expect([tokenBody.status, ((await tokenBody.json()) as { error: string }).error]).toEqual([400, 'invalid_request']);
    // Sent in chunks (no Content-Length), naming the client in the form: read up to the limit, then refused the same way.
    const chunked = new ReadableStream({ start(controller) {
      controller.enqueue(new TextEncoder().encode('grant_type=client_credentials&client_id=someone&x='));
      for (let i = 0; i < 64; i += 1) controller.enqueue(new TextEncoder().encode('x'.repeat(1024)));
      controller.close();
    } });
    const streamed = await fetch(`${server.issuer}/token`, { method: 'POST', body: chunked, duplex: 'half',
      headers: { 'content-type': 'application/x-www-form-urlencoded' } } as RequestInit);
    expect([streamed.status, ((await streamed.json()) as { error: string }).error]).toEqual([400, 'invalid_request']);
    const { status } = await slowClient(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'y'.repeat(20 * 1024)}\r\n\r\n`);
    expect(status).toBe('HTTP/1.1 431 Request Header Fields Too Large');
  });
});
