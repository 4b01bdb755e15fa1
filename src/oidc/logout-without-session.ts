import { createHash } from 'node:crypto';
import type { AnswerRewrite } from './around-provider-routes.ts';
import type { Renderer } from '../http/render.ts';
import { PAGE_CSP } from '../http/koa-security-headers.ts';

// The one script of the page: it posts the form at once, as the library's page does.
const AUTO_SUBMIT = "document.getElementById('op.logoutForm').submit();";
const AUTO_SUBMIT_CSP = `${PAGE_CSP}; script-src 'sha256-${createHash('sha256').update(AUTO_SUBMIT).digest('base64')}'`;

/**
 * RP-Initiated Logout 1.0 §2 when no one is signed in: oidc-provider answers /session/end with a
 * page of its own, in English ("Submitting Callback"), that posts `xsrf` and `logout=yes` to
 * end_session_confirm at once (lib/actions/end_session.js renderLogout → lib/response_modes/form_post.js).
 * No configuration hook renders that page (logoutSource is only for a signed-in session), so this
 * rewrite of the end_session route's answer (around-provider-routes.ts) renders the same form: in the person's language, in
 * our layout, with a button when scripts do not run, under our CSP allowing that one script by
 * its hash. The confirmation then does what it did (the return to the app with its state).
 */
export function renderLogoutWithoutSession(renderer: Renderer): AnswerRewrite {
  return (ctx) => {
    // `state.secret` is the xsrf the library kept.
    const { oidc } = ctx;
    if (ctx.status !== 200 || oidc.session?.accountId) return;
    const xsrf = (oidc.session?.state as { secret?: unknown } | undefined)?.secret;
    if (typeof xsrf !== 'string') return;
    const locale = renderer.localeOf(ctx, oidc.params?.ui_locales as string | undefined);
    ctx.type = 'html';
    ctx.set('Content-Security-Policy', AUTO_SUBMIT_CSP);
    ctx.body = renderer.html(locale, 'logout-continue', {
      action: oidc.urlFor('end_session_confirm'), xsrf, script: AUTO_SUBMIT,
      // Switching the language would start the logout again without the app's parameters.
      hideLanguageSwitch: true,
    });
  };
}
