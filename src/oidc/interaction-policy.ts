import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

/** Whether the session's sign-in (its account and amr) satisfies this authorization request. */
export type SignInCheck = (ctx: KoaContextWithOIDC, accountId: string, amr: readonly string[]) => Promise<boolean>;

/**
 * oidc-provider's login and consent prompts, with `mfa` between them: a prompt of its own, so
 * that prompt=login, max_age and an acr_values step-up ask for the second factor again, and so
 * that no code is issued before it is given (the consent prompt and the code come after it).
 * `isSignInComplete` is the same decision the signed-in pages use (src/accounts/sign-in-state.ts).
 */
export function createInteractionPolicy(isSignInComplete: SignInCheck) {
  const { Prompt, Check, base } = interactionPolicy;
  const policy = base();
  policy.add(new Prompt(
    { name: 'mfa', requestable: false },
    new Check('mfa_required', 'a second factor is required', async (ctx) => {
      const session = ctx.oidc.session;
      if (!session?.accountId) return Check.NO_NEED_TO_PROMPT; // the login prompt comes first
      const amr = (session.amr as string[] | undefined) ?? [];
      return (await isSignInComplete(ctx, session.accountId, amr)) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  ), 1);
  return policy;
}
