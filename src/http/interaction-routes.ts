import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { signInWithPassword } from '../accounts/sign-in.ts';
import { AppError } from '../shared/app-error.ts';
import { ACR_PASSWORD } from '../oidc/constants.ts';
import { csrfProtection } from './koa-csrf.ts';
import { formBody, parseForm } from './forms.ts';
import type { Locale } from '../permissions/catalog.ts';
import { obtainableApiScopes } from '../permissions/obtainable-scopes.ts';
import { showSecondFactor, submitSecondFactor, submitEnrolment } from './mfa-interaction-routes.ts';
import { grantConsent, type ConsentDetails } from '../oidc/grant-consent.ts';
import { showAccountChooser, submitAccountChoice } from './select-account-routes.ts';
import { clientName, clientOf, finish, loadInteraction, nameOf, signInContextOf, type Client, type Interaction, type InteractionDeps } from './interaction-context.ts';

export type { InteractionDeps } from './interaction-context.ts';

// Field types are checked, not coerced: `email[$ne]=` parses to an object and is refused (ASVS 1.2.4).
const loginForm = z.object({ email: z.string().max(320), password: z.string().max(4096) });
const consentForm = z.object({ decision: z.enum(['allow', 'deny']) });

/** What the consent prompt asks for (oidc-provider's prompt details). */
const consentDetails = (interaction: Interaction) => interaction.prompt.details as ConsentDetails;

function requestedScopes(interaction: Interaction): string[] {
  const details = consentDetails(interaction);
  return [...(details.missingOIDCScope ?? []), ...Object.values(details.missingResourceScopes ?? {}).flat()];
}

/**
 * Permissions the app may ask for and did, that the person's roles do not allow: the token will
 * not carry them, and the consent page says which role would.
 */
function withheldScopes(deps: InteractionDeps, interaction: Interaction, client: Client | undefined, roles: string[], locale: Locale) {
  const metadata = (client ?? {}) as unknown as Record<string, unknown>;
  const allowedByClient = new Set(obtainableApiScopes(deps.catalog, metadata));
  const obtainable = new Set(obtainableApiScopes(deps.catalog, metadata, roles));
  const requested = typeof interaction.params.scope === 'string' ? interaction.params.scope.split(' ') : [];
  return requested
    .filter((scope) => allowedByClient.has(scope) && !obtainable.has(scope))
    .map((scope) => ({ name: scope, description: deps.catalog.describeScope(scope, locale), roles: deps.catalog.rolesGranting(scope).map((role) => deps.catalog.describeRole(role, locale)).join(locale === 'zh-CN' ? '、' : ', ') }));
}

async function showInteraction(deps: InteractionDeps, ctx: Context): Promise<void> {
  const interaction = await loadInteraction(deps, ctx);
  const client = await clientOf(deps, interaction);
  const name = nameOf(client, interaction);
  if (interaction.prompt.name === 'login') {
    deps.renderer.page(ctx, 'login', { uid: interaction.uid, clientName: name });
    return;
  }
  if (interaction.prompt.name === 'consent') {
    const account = await deps.accounts.findAccountById(interaction.session?.accountId ?? '');
    const locale = ctx.state.locale;
    const scopes = requestedScopes(interaction).map((scope) => ({
      name: scope,
      description: deps.catalog.describeScope(scope, locale),
    }));
    deps.renderer.page(ctx, 'consent', {
      uid: interaction.uid, clientName: name, email: account?.email ?? '', scopes,
      withheld: withheldScopes(deps, interaction, client, account?.roles ?? [], locale),
    });
    return;
  }
  if (interaction.prompt.name === 'mfa') {
    await showSecondFactor(deps, ctx, interaction);
    return;
  }
  if (interaction.prompt.name === 'select_account') {
    await showAccountChooser(deps, ctx, interaction);
    return;
  }
  throw new AppError('interaction_expired', 'this sign-in step is not available; start again from the application');
}

async function submitLogin(deps: InteractionDeps, ctx: Context): Promise<void> {
  const interaction = await loadInteraction(deps, ctx, 'login');
  const form = parseForm(loginForm, ctx.request.body);
  const t = deps.renderer.translations[ctx.state.locale as 'en'];
  const showLogin = async (status: number, data: Record<string, unknown>) => deps.renderer.page(ctx, 'login', {
    uid: interaction.uid, clientName: await clientName(deps, interaction), email: form.email,
    switchTo: `/interaction/${interaction.uid}`, ...data,
  }, status);
  const tooMany = (seconds: number) => {
    ctx.set('Retry-After', String(seconds));
    return showLogin(429, { error: t('login.too_many_attempts', { minutes: Math.ceil(seconds / 60) }) });
  };

  const result = await signInWithPassword(deps, form, signInContextOf(ctx, interaction));
  if (result.outcome === 'throttled') return tooMany(result.retryAfterSeconds);
  // One answer for an unknown email and a wrong password (no user enumeration).
  if (result.outcome === 'invalid_credentials') return showLogin(401, { error: t('login.invalid_credentials') });
  if (result.outcome === 'not_activated') return showLogin(403, { error: t('login.not_activated'), offerResend: true });
  if (result.outcome === 'account_disabled') return showLogin(403, { error: t('login.account_disabled') });
  await finish(deps, ctx, { login: { accountId: result.account.id, amr: ['pwd'], acr: ACR_PASSWORD } }, false);
}

async function submitConsent(deps: InteractionDeps, ctx: Context): Promise<void> {
  const interaction = await loadInteraction(deps, ctx, 'consent');
  const { decision } = parseForm(consentForm, ctx.request.body);
  if (decision === 'deny') {
    await finish(deps, ctx, { error: 'access_denied', error_description: 'the user denied the request' }, false);
    return;
  }
  const accountId = interaction.session!.accountId;
  const clientId = String(interaction.params.client_id);
  const grantId = await grantConsent(deps, { accountId, clientId, grantId: interaction.grantId, details: consentDetails(interaction) });
  if (!grantId) throw new AppError('interaction_expired', 'this authorization has expired; start again from the application');
  // Always named: the grant may be another session's (grantConsent), which this session then joins.
  await finish(deps, ctx, { consent: { grantId } }, true);
}

async function abortInteraction(deps: InteractionDeps, ctx: Context): Promise<void> {
  await loadInteraction(deps, ctx);
  await finish(deps, ctx, { error: 'access_denied', error_description: 'the user cancelled the request' }, false);
}

export function createInteractionRoutes(deps: InteractionDeps): Router {
  const router = new Router({ prefix: '/interaction/:uid' });
  const csrf = csrfProtection();
  router.get('/', csrf, (ctx) => showInteraction(deps, ctx));
  router.post('/login', formBody, csrf, (ctx) => submitLogin(deps, ctx));
  router.post('/consent', formBody, csrf, (ctx) => submitConsent(deps, ctx));
  router.post('/mfa', formBody, csrf, (ctx) => submitSecondFactor(deps, ctx));
  router.post('/mfa-enroll', formBody, csrf, (ctx) => submitEnrolment(deps, ctx));
  router.post('/select-account', formBody, csrf, (ctx) => submitAccountChoice(deps, ctx));
  router.post('/abort', formBody, csrf, (ctx) => abortInteraction(deps, ctx));
  return router;
}
