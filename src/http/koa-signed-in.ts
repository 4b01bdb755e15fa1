import { randomBytes } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { AccountStore } from '../storage/contract.ts';
import type { SignInPolicyDeps } from '../mfa/second-factor.ts';
import { resolveSignedIn, type SignedIn } from '../accounts/sign-in-state.ts';
import { ACCOUNT_CLIENT_ID, accountCallbackUrl } from '../oidc/constants.ts';
import { seeOther } from './forms.ts';

export interface SignedInDeps {
  provider: Provider;
  accounts: AccountStore;
  secondFactor: SignInPolicyDeps;
  issuer: string;
}

/**
 * Sends a person who is not (fully) signed in through the provider's sign-in as the first-party
 * account client: a half-finished sign-in lands on the code page, nobody on the password page.
 * The callback only needs the session that sign-in leaves (the code is never redeemed).
 */
function redirectToSignIn(deps: SignedInDeps, ctx: Context): void {
  const params = new URLSearchParams({
    client_id: ACCOUNT_CLIENT_ID,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: accountCallbackUrl(deps.issuer),
    state: ctx.path,
    code_challenge: randomBytes(32).toString('base64url'),
    code_challenge_method: 'S256',
    ui_locales: ctx.state.locale as string,
  });
  ctx.redirect(`/auth?${params}`);
}

/**
 * Every signed-in page goes through this: it sets `ctx.state.signedIn` for a sign-in that has
 * completed every factor the account requires (src/accounts/sign-in-state.ts decides), and
 * otherwise sends GETs to sign in and POSTs back to `home` (303) without running them.
 */
export function requireSignedIn(deps: SignedInDeps, home: string): Middleware {
  return async (ctx, next) => {
    const session = await deps.provider.Session.get(ctx);
    const signedIn = await resolveSignedIn({ ...deps.secondFactor, accounts: deps.accounts }, {
      uid: session.uid, accountId: session.accountId, amr: session.amr as string[] | undefined,
      acr: session.acr as string | undefined, loginTs: session.loginTs as number | undefined,
    });
    if (!signedIn) {
      if (ctx.method === 'GET' || ctx.method === 'HEAD') redirectToSignIn(deps, ctx);
      else seeOther(ctx, home);
      return;
    }
    ctx.state.signedIn = signedIn;
    await next();
  };
}

/** The signed-in person of a request that passed requireSignedIn. */
export function signedInOf(ctx: Context): SignedIn {
  const signedIn = ctx.state.signedIn as SignedIn | undefined;
  if (!signedIn) throw new Error('requireSignedIn must run before this handler');
  return signedIn;
}
