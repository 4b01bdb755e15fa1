import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { AccountStore } from '../storage/contract.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import { AppError } from '../shared/app-error.ts';
import type { LoginThrottle } from '../accounts/login-throttle.ts';
import type { SignInContext } from '../accounts/sign-in.ts';
import { words } from '../oidc/requested-scope.ts';
import type { SecondFactorDeps } from '../mfa/second-factor.ts';
import type { MfaLimits } from '../mfa/mfa-limits.ts';
import type { AccountSessions } from '../oidc/account-sessions.ts';
import type { Renderer } from './render.ts';
import { seeOther } from './forms.ts';

// What every sign-in step (password, second factor, account choice, consent) shares: its deps, the
// interaction behind the request, and how a step finishes. The step routes import this; none
// imports another (src/http/interaction-routes.ts composes them).

export interface InteractionDeps {
  provider: Provider;
  accounts: AccountStore;
  audit: AuditLog;
  catalog: PermissionCatalog;
  renderer: Renderer;
  throttle: LoginThrottle;
  secondFactor: SecondFactorDeps;
  mfaLimits: MfaLimits;
  /** Finds the person's grant for an app (src/oidc/account-sessions.ts): consent joins it. */
  grants: Pick<AccountSessions, 'findGrantId'>;
}

export type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/** The interaction behind the cookie, which must be the one named in the URL and at `prompt`. */
export async function loadInteraction(deps: InteractionDeps, ctx: Context, prompt?: string): Promise<Interaction> {
  let interaction: Interaction;
  try {
    interaction = await deps.provider.interactionDetails(ctx.req, ctx.res);
  } catch (error) {
    if ((error as Error).name === 'SessionNotFound') {
      throw new AppError('interaction_expired', 'this sign-in page has expired; start again from the application');
    }
    throw error;
  }
  if (interaction.uid !== ctx.params.uid || (prompt && interaction.prompt.name !== prompt)) {
    throw new AppError('interaction_expired', 'this sign-in page has expired; start again from the application');
  }
  ctx.state.locale = deps.renderer.localeOf(ctx, interaction.params.ui_locales as string | undefined);
  return interaction;
}

export type Client = NonNullable<Awaited<ReturnType<Provider['Client']['find']>>>;

export const clientOf = (deps: InteractionDeps, interaction: Interaction) => deps.provider.Client.find(String(interaction.params.client_id));
export const nameOf = (client: Client | undefined, interaction: Interaction) => client?.clientName ?? String(interaction.params.client_id);

export async function clientName(deps: InteractionDeps, interaction: Interaction): Promise<string> {
  return nameOf(await clientOf(deps, interaction), interaction);
}

/**
 * Where a sign-in step comes from, for the ledger and for deciding whether the sign-in is complete:
 * what the app asked of it (acr_values, scope), as the `mfa` prompt reads them.
 */
export const signInContextOf = (ctx: Context, interaction: Interaction): SignInContext => ({
  ip: ctx.ip, clientId: String(interaction.params.client_id),
  request: { acrValues: words(interaction.params.acr_values), scopes: words(interaction.params.scope) },
});

/** 303 See Other after every POST (RFC 9700 §4.12: never 307, which would re-post the password). */
export async function finish(deps: InteractionDeps, ctx: Context, result: Record<string, unknown>, merge: boolean) {
  seeOther(ctx, await deps.provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge }));
}

