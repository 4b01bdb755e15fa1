import type { Context } from 'koa';
import { z } from 'zod';
import type { AccountRecord } from '../storage/contract.ts';
import { ACR_MFA } from '../oidc/constants.ts';
import { confirmEnrolment, isMfaEnabled, startEnrolment, verifySecondFactor } from '../mfa/second-factor.ts';
import { AppError } from '../shared/app-error.ts';
import { field, parseForm, passwordField, requestContext, seeOther, withFormErrors } from './forms.ts';
import { clientName, finish, loadInteraction, signInContextOf, type Interaction, type InteractionDeps } from './interaction-context.ts';
import { recordSignInStep } from '../accounts/sign-in.ts';
import { countAttempt } from '../shared/failure-limiter.ts';

const codeForm = z.object({ code: field(64) });
const enrolmentForm = z.object({ current_password: passwordField(), code: field(64) });

async function accountOf(deps: InteractionDeps, interaction: Interaction): Promise<AccountRecord> {
  const account = await deps.accounts.findAccountById(interaction.session?.accountId ?? '');
  if (!account) throw new AppError('interaction_expired', 'this sign-in page has expired; start again from the application');
  return account;
}

/** The result that completes the sign-in with both factors (re-sending `login` updates the session's amr/acr). */
const signedInWithBothFactors = (account: AccountRecord) =>
  ({ login: { accountId: account.id, amr: ['pwd', 'otp'], acr: ACR_MFA } });

async function renderEnrolment(deps: InteractionDeps, ctx: Context, interaction: Interaction, account: AccountRecord,
  extra: Record<string, unknown> = {}, status = 200) {
  const enrolment = await startEnrolment(deps.secondFactor, account);
  deps.renderer.page(ctx, 'mfa-enroll', {
    ...enrolment, action: `/interaction/${interaction.uid}/mfa-enroll`, duringSignIn: true,
    switchTo: `/interaction/${interaction.uid}`, ...extra,
  }, status);
}

const renderCodeForm = async (deps: InteractionDeps, ctx: Context, interaction: Interaction, extra: Record<string, unknown> = {},
  status = 200) => deps.renderer.page(ctx, 'mfa', {
  uid: interaction.uid, clientName: await clientName(deps, interaction), switchTo: `/interaction/${interaction.uid}`, ...extra,
}, status);

/** The second step: a code form when the person has a factor, else enrolment (a role or the app requires one). */
export async function showSecondFactor(deps: InteractionDeps, ctx: Context, interaction: Interaction): Promise<void> {
  const account = await accountOf(deps, interaction);
  if (await isMfaEnabled(deps.secondFactor, account.id)) await renderCodeForm(deps, ctx, interaction);
  else await renderEnrolment(deps, ctx, interaction, account);
}

/**
 * Starts the sign-in over from the password: the half-signed-in session is ended and the app's
 * original authorization request is replayed (after too many wrong codes).
 */
async function restartSignIn(deps: InteractionDeps, ctx: Context, interaction: Interaction): Promise<void> {
  const session = await deps.provider.Session.get(ctx);
  if (session.accountId === interaction.session?.accountId) await session.destroy();
  const params = new URLSearchParams(Object.entries(interaction.params)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  seeOther(ctx, `/auth?${params}`);
}

export async function submitSecondFactor(deps: InteractionDeps, ctx: Context): Promise<void> {
  const interaction = await loadInteraction(deps, ctx, 'mfa');
  const account = await accountOf(deps, interaction);
  const { code } = parseForm(codeForm, ctx.request.body);
  const t = deps.renderer.translations[ctx.state.locale as 'en'];
  const { perSignIn, perAccount } = deps.mfaLimits;

  // Counted before the check, as on the security page (checkPasswordAndCode): concurrent wrong codes
  // cannot all pass the per-account limit. A right code is taken back: it is not a failure.
  const attempt = await countAttempt([[perAccount, account.id]]);
  if (!attempt.isAllowed) {
    ctx.set('Retry-After', String(attempt.retryAfter));
    return renderCodeForm(deps, ctx, interaction,
      { error: t('login.too_many_attempts', { minutes: Math.ceil(attempt.retryAfter / 60) }) }, 429);
  }
  const result = await verifySecondFactor(deps.secondFactor, account, code,
    { ...requestContext(ctx), clientId: String(interaction.params.client_id) });
  if (result.ok) {
    await attempt.uncount();
    await perSignIn.reset(interaction.uid);
    await recordSignInStep(deps, account, ['pwd', 'otp'], signInContextOf(ctx, interaction), { method: result.method });
    return finish(deps, ctx, signedInWithBothFactors(account), false);
  }
  const strikesOut = await perSignIn.recordFailure(interaction.uid);
  if (strikesOut > 0) return restartSignIn(deps, ctx, interaction);
  return renderCodeForm(deps, ctx, interaction, { error: t(`errors.${result.reason}`) }, 401);
}

/** Enrolment during sign-in: on the first correct code the factor is on, and the recovery codes are shown once. */
export async function submitEnrolment(deps: InteractionDeps, ctx: Context): Promise<void> {
  const interaction = await loadInteraction(deps, ctx, 'mfa');
  const account = await accountOf(deps, interaction);
  const form = parseForm(enrolmentForm, ctx.request.body);
  await withFormErrors(ctx, deps.renderer, async () => {
    const codes = await confirmEnrolment(deps.secondFactor, account, { password: form.current_password, code: form.code },
      requestContext(ctx));
    await recordSignInStep(deps, account, ['pwd', 'otp'], signInContextOf(ctx, interaction), { method: 'totp_enrolment' });
    const returnTo = await deps.provider.interactionResult(ctx.req, ctx.res, signedInWithBothFactors(account),
      { mergeWithLastSubmission: false });
    // No language switch on this page: reloading it would lose the codes, shown only this once.
    deps.renderer.page(ctx, 'recovery-codes', { codes, continueHref: returnTo, hideLanguageSwitch: true });
  }, (error, status) => renderEnrolment(deps, ctx, interaction, account, { error }, status));
}
