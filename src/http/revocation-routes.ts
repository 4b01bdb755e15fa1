import Router from '@koa/router';
import type { ApplicationStore, RevocationStore } from '../storage/contract.ts';
import { clientSecretMatches, isSecretLive } from '../applications/client-secret.ts';
import { toRevocationMessage } from '../revocation/revocation-events.ts';

export interface RevocationRouteDeps {
  applications: ApplicationStore;
  revocations: RevocationStore;
  secretHashKey: Buffer;
}

// Events are kept a day; a poller asks for what came since its last answer.
const MAX_LOOKBACK_MS = 86_400_000;
const PAGE_SIZE = 1000;

/** RFC 6749 §2.3.1: client_id and secret, form-urlencoded, in HTTP Basic. */
function basicCredentials(header: string): { clientId: string; secret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return { clientId: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

async function isResourceServer(deps: RevocationRouteDeps, header: string): Promise<boolean> {
  const credentials = basicCredentials(header);
  if (!credentials) return false;
  const application = await deps.applications.findApplicationByClientId(credentials.clientId);
  if (!application || application.revokedAt || !application.isResourceServer) return false;
  const now = new Date();
  return application.secrets.filter((s) => isSecretLive(s, now))
    .map((s) => clientSecretMatches(deps.secretHashKey, credentials.secret, s.hash)).includes(true);
}

/**
 * GET /revocations?since=<epoch ms>: the revocation events a resource server must apply, for those
 * that do not subscribe to Redis (embedded mode). Only resource-server clients may read them.
 */
export function createRevocationRoutes(deps: RevocationRouteDeps): Router {
  const router = new Router();
  router.get('/revocations', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    if (!(await isResourceServer(deps, ctx.get('Authorization')))) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Basic realm="TokenIM"');
      ctx.body = { error: 'invalid_client', error_description: 'authenticate as a resource-server application (HTTP Basic)' };
      return;
    }
    const now = Date.now();
    const requested = Number(ctx.query.since);
    const since = Number.isFinite(requested) ? Math.max(requested, now - MAX_LOOKBACK_MS) : now - MAX_LOOKBACK_MS;
    const events = await deps.revocations.listRevocationsSince(new Date(since), PAGE_SIZE);
    ctx.body = { events: events.map(toRevocationMessage), now };
  });
  return router;
}
