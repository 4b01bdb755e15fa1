// First: on Node.js before 24 one line instead of a stack (see the file).
import '../../bin/require-node-24.js';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { loadOrExit } from '../config/load-config.ts';
import { loadImApiConfig } from '../config/load-im-api-config.ts';
import { buildPermissionCatalog } from '../permissions/catalog.ts';
import { openRedis } from '../storage/redis/open-redis.ts';
import { createTokenVerifier } from './verify-access-token.ts';
import { createRevocationListener } from './revocation-listener.ts';
import { createDpopProofVerifier } from './verify-dpop-proof.ts';
import { createMemoryReplayCache, createRedisReplayCache } from './dpop-replay-cache.ts';
import { createImApi } from './example-im-api.ts';

// `npm run example:im-api`: the example TokenIM API, trusting the issuer's JWKS.
const config = loadOrExit('im-api', () => loadImApiConfig());
const log = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(fields)}\n`);

const redis = config.redis ? openRedis(config.redis.url) : undefined;
const revocations = config.redis || config.poll ? createRevocationListener({ redis: config.redis, poll: config.poll }) : undefined;
revocations?.ready.catch((error: unknown) => {
  // The listener keeps trying; a wrong secret, though, will not fix itself.
  process.stderr.write(`im-api: cannot read revocations yet: ${(error as Error).message}\n`);
});
const verify = createTokenVerifier({ issuer: config.issuer, audience: config.audience, revocations });
// RFC 9449 §11.1: with several instances behind one address, a proof used at one is refused at the others.
const replay = redis && config.redis ? createRedisReplayCache(redis.redis, `${config.redis.keyPrefix}dpop:`) : createMemoryReplayCache();
const app = createImApi(verify, buildPermissionCatalog(config.scopes, config.roles), {
  dpop: createDpopProofVerifier({ replay }), trustProxy: config.trustProxy,
});
const server = createServer(app.callback());
server.listen(config.port);
try {
  await once(server, 'listening');
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
  process.stderr.write(`im-api: port ${config.port} is in use; set PORT to another\n`);
  process.exit(1);
}
log({ msg: 'TokenIM example API listening', port: config.port, issuer: config.issuer,
  revocations: config.redis ? 'redis' : config.poll ? 'polling' : 'off',
  ...(config.poll ? { credentials: config.poll.source } : {}) });
if (!revocations) {
  // Without revocations a revoked token works here until it expires: say so, and how to fix it.
  process.stderr.write('im-api: revoked tokens stay valid here until they expire; run `npx tokenim-auth example-api credentials` '
    + '(same DATA_DIR as the server) or set REDIS_URL\n');
}

const stop = () => server.close(() => {
  void Promise.all([revocations?.close(), redis?.connection.close()]).then(() => process.exit(0));
});
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
