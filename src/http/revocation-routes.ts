import Router from '@koa/router';
import type { ApplicationStore, RevocationStore } from '../storage/contract.ts';
import { basicCredentials, describeSecretRefusal } from '../oidc/client-auth.ts';
import { checkClientSecret, type SecretCheck } from '../applications/check-client-secret.ts';
import type { Renderer } from './render.ts';
import type { SecretHashKey } from '../applications/client-secret.ts';
import { toRevocationMessage } from '../revocation/revocation-events.ts';

export interface RevocationRouteDeps {
  applications: ApplicationStore;
  revocations: RevocationStore;
  secretHashKey: SecretHashKey;
  renderer: Renderer;
}

// Events are kept a day; a poller asks for what came since its last answer.
const MAX_LOOKBACK_MS = 86_400_000;
const PAGE_SIZE = 1000;

/** The token endpoint's verdict (checkClientSecret); a valid key of a client that is no resource server is refused too. */
async function authenticateResourceServer(deps: RevocationRouteDeps, header: string): Promise<SecretCheck> {
  const credentials = basicCredentials(header);
  if (!credentials) return { ok: false, reason: 'no_match' };
  const application = await deps.applications.findApplicationByClientId(credentials.clientId);
  if (!application) return { ok: false, reason: 'no_match' };
  const check = checkClientSecret(deps.secretHashKey, application, credentials.secret, new Date());
  return !check.ok || application.isResourceServer ? check : { ok: false, reason: 'no_match' };
}

/**
 * GET /revocations?since=<epoch ms>: the revocation events a resource server must apply, for those
 * that do not subscribe to Redis (embedded mode). Only resource-server clients may read them.
 */
export function createRevocationRoutes(deps: RevocationRouteDeps): Router {
  const router = new Router();
  router.get('/revocations', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const check = await authenticateResourceServer(deps, ctx.get('Authorization'));
    if (!check.ok) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Basic realm="TokenIM"');
      ctx.body = { error: 'invalid_client', error_description: describeSecretRefusal(deps.renderer.translations[deps.renderer.localeOf(ctx)], check) };
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
