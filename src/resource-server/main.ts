import { createServer } from 'node:http';
import { loadOrExit } from '../config/load-config.ts';
import { loadImApiConfig } from '../config/load-im-api-config.ts';
import { buildPermissionCatalog } from '../permissions/catalog.ts';
import { createTokenVerifier } from './verify-access-token.ts';
import { createRevocationListener } from './revocation-listener.ts';
import { createImApi } from './example-im-api.ts';

// `npm run example:im-api`: the example TokenIM API, trusting the issuer's JWKS.
const config = loadOrExit('im-api', () => loadImApiConfig());
const revocations = config.redis || config.poll ? createRevocationListener({ redis: config.redis, poll: config.poll }) : undefined;
const verify = createTokenVerifier({ issuer: config.issuer, audience: config.audience, revocations });
const server = createServer(createImApi(verify, buildPermissionCatalog(config.scopes, config.roles)).callback());
server.listen(config.port, () => {
  process.stdout.write(`${JSON.stringify({ msg: 'TokenIM example API listening', port: config.port, issuer: config.issuer,
    revocations: config.redis ? 'redis' : config.poll ? 'polling' : 'off' })}\n`);
});
const stop = () => server.close(() => revocations?.close().then(() => process.exit(0)) ?? process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
