import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { RevocationPublisher } from '../revocation/revocation-events.ts';

// RP-Initiated Logout 1.0: the provider's end_session confirmation. Its route, relative to the issuer.
const END_SESSION_CONFIRM = '/session/end/confirm';

/** The apps a browser session is signed in to. */
const appsOf = (session: { authorizations?: Record<string, unknown> } | undefined) => new Set(Object.keys(session?.authorizations ?? {}));

/**
 * Signing out ends this browser session's access tokens at the resource servers at once. A
 * person's grant for an app is shared by all their sessions (src/oidc/account-sessions.ts), so
 * oidc-provider is told to keep it on logout; what the sign-out ended instead is each app sign-in
 * the session held before and not after, published as a `session` revocation of
 * `<session uid>:<client id>` (tokens carry `session_uid`; other devices' sessions have their own).
 */
export function signOutRevocations(provider: Provider, revocations: RevocationPublisher): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== END_SESSION_CONFIRM) return next();
    const before = await provider.Session.get(ctx);
    const held = appsOf(before as Parameters<typeof appsOf>[0]);
    await next();
    if (!held.size || ctx.status >= 400) return;
    const kept = appsOf((await provider.Session.findByUid(before.uid)) as Parameters<typeof appsOf>[0]);
    const ended = [...held].filter((clientId) => !kept.has(clientId));
    await Promise.all(ended.map((clientId) => revocations.revoke('session', `${before.uid}:${clientId}`)));
  };
}
