import Router from '@koa/router';
import type { StoreConnection } from '../storage/contract.ts';

export interface Readiness {
  /** False once shutdown has begun: the load balancer stops sending new requests. */
  isAcceptingTraffic: boolean;
}

const PING_TIMEOUT_MS = 2000;

async function pingWithTimeout(connection: StoreConnection): Promise<'ok' | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([connection.ping(), timeout]);
    return 'ok';
  } catch (error) {
    return (error as Error).message || 'unreachable';
  } finally {
    clearTimeout(timer);
  }
}

export function createOpsRoutes(connections: StoreConnection[], readiness: Readiness): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const results = await Promise.all(connections.map(async (c) => [c.name, await pingWithTimeout(c)] as const));
    const stores = Object.fromEntries(results);
    const isReady = readiness.isAcceptingTraffic && results.every(([, state]) => state === 'ok');
    ctx.set('Cache-Control', 'no-store');
    ctx.status = isReady ? 200 : 503;
    ctx.body = { status: isReady ? 'ready' : readiness.isAcceptingTraffic ? 'unavailable' : 'shutting_down', stores };
  });
  return router;
}
