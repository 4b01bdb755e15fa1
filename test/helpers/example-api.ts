import { createServer } from 'node:http';
import { once } from 'node:events';
import { createImApi } from '../../src/resource-server/example-im-api.ts';
import { createTokenVerifier } from '../../src/resource-server/verify-access-token.ts';
import { createRevocationListener, type RevocationListener } from '../../src/resource-server/revocation-listener.ts';
import type { TestServer } from './test-server.ts';
import { createApplication } from '../../src/applications/create-application.ts';

export interface ExampleApi {
  url: string;
  close(): Promise<void>;
}

/**
 * The example TokenIM API on a free loopback port, trusting `server`'s JWKS. `revocations`: the
 * listener to consult (its close is left to the caller); `settings` as for createImApi.
 */
export async function startExampleApi(server: TestServer, options: {
  revocations?: RevocationListener;
  settings?: Parameters<typeof createImApi>[2];
} = {}): Promise<ExampleApi> {
  const verify = createTokenVerifier({ issuer: server.issuer, audience: 'urn:tokenim:api', revocations: options.revocations });
  const api = createServer(createImApi(verify, server.services.catalog, options.settings).callback()).listen(0, '127.0.0.1');
  await once(api, 'listening');
  return {
    url: `http://127.0.0.1:${(api.address() as { port: number }).port}`,
    close: () => new Promise<void>((resolve) => api.close(() => resolve())),
  };
}

/** A revocation listener that polls `server`'s GET /revocations as the resource-server client `rs`. */
export async function pollRevocations(server: TestServer, rs: { clientId: string; secret: string }): Promise<RevocationListener> {
  const listener = createRevocationListener({ poll: { url: `${server.issuer}/revocations`, clientId: rs.clientId, clientSecret: rs.secret } });
  await listener.ready;
  return listener;
}

/**
 * The example API told of revocations, as resource servers are: a resource-server application of
 * its own polls `server`'s GET /revocations; close() stops both.
 */
export async function startRevocationAwareApi(server: TestServer): Promise<ExampleApi> {
  const rs = await createApplication(server.services.applicationDeps, { name: 'IM API', type: 'service', isResourceServer: true },
    { kind: 'system', id: 'test' });
  const listener = await pollRevocations(server, { clientId: rs.application.clientId, secret: rs.secret!.clientSecret });
  const api = await startExampleApi(server, { revocations: listener });
  return { url: api.url, close: async () => { await api.close(); await listener.close(); } };
}
