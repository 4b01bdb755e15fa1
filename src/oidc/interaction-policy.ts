import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

/**
 * oidc-provider's login and consent prompts, with `mfa` between them: a prompt of its own, so
 * that prompt=login, max_age and an acr_values step-up ask for the second factor again, and so
 * that no code is issued before it is given (the consent prompt and the code come after it).
 */
export function createInteractionPolicy(requiresSecondFactor: (ctx: KoaContextWithOIDC, accountId: string) => Promise<boolean>) {
  const { Prompt, Check, base } = interactionPolicy;
  const policy = base();
  policy.add(new Prompt(
    { name: 'mfa', requestable: false },
    new Check('mfa_required', 'a second factor is required', async (ctx) => {
      const session = ctx.oidc.session;
      if (!session?.accountId) return Check.NO_NEED_TO_PROMPT; // the login prompt comes first
      if ((session.amr as string[] | undefined)?.includes('otp')) return Check.NO_NEED_TO_PROMPT;
      return (await requiresSecondFactor(ctx, session.accountId)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    }),
  ), 1);
  return policy;
}
