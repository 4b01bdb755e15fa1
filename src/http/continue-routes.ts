import Router from '@koa/router';
import type Provider from 'oidc-provider';
import type { Locale } from '../permissions/catalog.ts';
import type { Renderer } from './render.ts';
import { isLoopback } from '../applications/application-rules.ts';

export interface ContinueRouteDeps {
  provider: Provider;
  renderer: Renderer;
}

type Client = NonNullable<Awaited<ReturnType<Provider['Client']['find']>>>;

/**
 * Where a web app can be opened to sign in afresh: the origin of its first redirect URI when that
 * is a web address (https, or http on loopback). Native apps' private-use schemes are no page to
 * open, so for them (and when the app is unknown) the person signs in to their TokenIM account.
 */
function appHome(client: Client | undefined): string | undefined {
  const uri = client?.redirectUris?.[0];
  if (!uri) return undefined;
  const url = new URL(uri);
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url)) ? url.origin : undefined;
}

/**
 * "Continue" from a sign-up step (link sent, email confirmed) back into the sign-in the person
 * started. It lives under /interaction/:uid because the interaction cookie is scoped to that path:
 * in the browser that started the sign-in, within its lifetime, it resumes it. Opened on another
 * device, or too late, it offers a fresh sign-in instead of "this page has expired". It says
 * nothing of what came before: the page that links here (e.g. "Email confirmed") has said that.
 */
export function createContinueRoutes(deps: ContinueRouteDeps): Router {
  const router = new Router({ prefix: '/interaction/:uid' });
  router.get('/continue', async (ctx) => {
    const uid = String(ctx.params.uid);
    try {
      const interaction = await deps.provider.interactionDetails(ctx.req, ctx.res);
      if (interaction.uid === uid) {
        ctx.redirect(`/interaction/${uid}`);
        return;
      }
    } catch (error) {
      if ((error as Error).name !== 'SessionNotFound') throw error;
    }
    const started = /^[A-Za-z0-9_-]{1,64}$/.test(uid) ? await deps.provider.Interaction.find(uid) : undefined;
    const client = started ? await deps.provider.Client.find(String(started.params.client_id)) : undefined;
    const home = appHome(client);
    const t = deps.renderer.translations[ctx.state.locale as Locale];
    deps.renderer.notice(ctx, client && home
      ? { kind: 'info', key: 'continue_elsewhere', params: { app: client.clientName ?? client.clientId },
        link: { href: home, label: t('continue_elsewhere.open_app', { app: client.clientName ?? client.clientId }) } }
      : { kind: 'info', key: 'continue_elsewhere', params: { app: 'TokenIM' },
        link: { href: '/account', label: t('continue_elsewhere.sign_in') } });
  });
  return router;
}
