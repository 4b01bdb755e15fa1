import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import Router from '@koa/router';
import type { Logger } from '../shared/logger.ts';
import { registry } from './instruments.ts';
import { refuseMetricsRequest, type MetricsAccess } from './metrics-access.ts';

export const METRICS_PATH = '/metrics';

interface MetricsAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const json = (status: number, body: Record<string, string>, headers: Record<string, string> = {}): MetricsAnswer =>
  ({ status, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
    body: JSON.stringify(body) });

/** The one answer to a scrape, whichever server it reached. */
async function answerScrape(access: MetricsAccess, request: { authorization: string | undefined; remoteAddress: string | undefined },
  collect: () => Promise<string>, logger: Logger): Promise<MetricsAnswer> {
  const refusal = refuseMetricsRequest(access, request);
  // RFC 6750 §3: a missing or wrong bearer token is a 401 with a challenge.
  if (refusal === 'token_required') {
    return json(401, { error: 'invalid_token', error_description: 'the metrics need Authorization: Bearer <METRICS_TOKEN>' },
      { 'WWW-Authenticate': request.authorization ? 'Bearer realm="metrics", error="invalid_token"' : 'Bearer realm="metrics"' });
  }
  if (refusal === 'loopback_only') {
    return json(403, { error: 'forbidden', error_description: 'the metrics are served to this machine only; set METRICS_TOKEN or METRICS_PORT' });
  }
  try {
    return { status: 200, headers: { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' }, body: await collect() };
  } catch (error) {
    logger.warn({ err: error }, 'metrics could not be collected');
    return json(503, { error: 'temporarily_unavailable', error_description: 'the metrics could not be collected; try again' });
  }
}

/** GET /metrics on the main port (no METRICS_PORT). */
export function createMetricsRoutes(access: MetricsAccess, collect: () => Promise<string>, logger: Logger): Router {
  const router = new Router();
  router.get(METRICS_PATH, async (ctx) => {
    const answer = await answerScrape(access, { authorization: ctx.get('Authorization') || undefined,
      remoteAddress: ctx.req.socket.remoteAddress }, collect, logger);
    ctx.status = answer.status;
    ctx.set(answer.headers);
    ctx.body = answer.body;
  });
  return router;
}

/** METRICS_PORT: a plain HTTP server of its own that answers GET /metrics and nothing else. */
export async function startMetricsServer(options: { port: number; host?: string | undefined; access: MetricsAccess;
  collect: () => Promise<string>; logger: Logger }): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    void answerScrape(options.access, { authorization: req.headers.authorization, remoteAddress: req.socket.remoteAddress },
      options.collect, options.logger).then((answer) => {
      res.writeHead(answer.status, answer.headers).end(req.method === 'HEAD' ? undefined : answer.body);
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.listen(options.port, options.host);
  await once(server, 'listening');
  return server;
}
