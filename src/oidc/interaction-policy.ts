import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

/** Whether the session's sign-in (its account and amr) satisfies this authorization request. */
export type SignInCheck = (ctx: KoaContextWithOIDC, accountId: string, amr: readonly string[]) => Promise<boolean>;

/**
 * How the account chooser (prompt=select_account) was answered, as the interaction result under
 * `select_account`: go on as the signed-in account, or sign in with another one.
 */
export type AccountChoice = { accountId: string } | { another: true };

const { Prompt, Check, base } = interactionPolicy;

type InteractionResult = { login?: unknown; select_account?: AccountChoice } | undefined;
const resultOf = (ctx: KoaContextWithOIDC) => ctx.oidc.result as InteractionResult;

/**
 * OIDC Core §3.1.2.1 prompt=select_account, asked before anything else. With someone signed in,
 * the chooser asks whether to go on as them; with nobody (or an account that is gone), the sign-in
 * page asks who anyway. A sign-in made during this request answers it as well (after "another
 * account", the sign-in page and the second factor), so it is never asked twice. The library's
 * own check (`select_account_prompt`) would ask again after such a sign-in, so it is replaced;
 * with prompt=none the error is the library's account_selection_required.
 */
function selectAccountPrompt() {
  const prompt = new Prompt({ name: 'select_account', requestable: true },
    new Check('select_account_requested', 'the End-User asked to choose an account', (ctx) => {
      const { oidc } = ctx;
      if (!oidc.prompts.has('select_account') || !oidc.session?.accountId || !oidc.account) return Check.NO_NEED_TO_PROMPT;
      const result = resultOf(ctx);
      return result?.login || result?.select_account ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }));
  prompt.checks.remove('select_account_prompt');
  return prompt;
}

/**
 * "Use another account" on the chooser: the login prompt asks for a sign-in although someone is
 * signed in. When a different account signs in, oidc-provider's resume logs the previous one out
 * first (its logout confirmation, lib/actions/authorization/resume.js), as for prompt=login.
 */
const anotherAccountCheck = () => new Check('select_account_another', 'the End-User chose to sign in with another account', (ctx) => {
  const result = resultOf(ctx);
  const choice = result?.select_account;
  return choice && 'another' in choice && !result.login ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
});

/**
 * oidc-provider's login and consent prompts, with `select_account` before them and `mfa` between
 * them: a prompt of its own, so that prompt=login, max_age and an acr_values step-up ask for the
 * second factor again, and so that no code is issued before it is given (the consent prompt and
 * the code come after it). `isSignInComplete` is the same decision the signed-in pages use
 * (src/accounts/sign-in-state.ts).
 */
export function createInteractionPolicy(isSignInComplete: SignInCheck) {
  const policy = base();
  policy.get('login')!.checks.add(anotherAccountCheck());
  policy.add(selectAccountPrompt(), 0);
  policy.add(new Prompt(
    { name: 'mfa', requestable: false },
    new Check('mfa_required', 'a second factor is required', async (ctx) => {
      const session = ctx.oidc.session;
      if (!session?.accountId) return Check.NO_NEED_TO_PROMPT; // the login prompt comes first
      const amr = (session.amr as string[] | undefined) ?? [];
      return (await isSignInComplete(ctx, session.accountId, amr)) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
    }),
  ), policy.findIndex((prompt) => prompt.name === 'login') + 1);
  return policy;
}
