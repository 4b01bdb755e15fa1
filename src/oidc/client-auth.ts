import Provider from 'oidc-provider';
import type { Context } from 'koa';
import type { ApplicationStore, ClientSecretRecord } from '../storage/contract.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { Translate } from '../http/i18n.ts';
import type { Renderer } from '../http/render.ts';
import { CLIENT_SECRETS } from '../applications/client-metadata.ts';
import { checkClientSecret, createRememberingSecretCheck, type SecretCheck } from '../applications/check-client-secret.ts';
import { readStoredSecret, type StoredSecret } from '../storage/stored-secret.ts';
import type { SecretUseTracker } from '../applications/secret-use-tracker.ts';
import type { SecretHashKey } from '../applications/client-secret.ts';
import { createExpiredSecretRecorder } from '../applications/record-expired-secret-use.ts';
import type { AnswerRewrite } from './around-provider-routes.ts';

export interface ClientAuthDeps {
  secretHashKey: SecretHashKey;
  secretUse?: SecretUseTracker;
  applications: ApplicationStore;
  audit: AuditLog;
  renderer: Renderer;
}

/** Where compareClientSecret leaves its verdict for the error description (ctx.state). */
const VERDICT = 'clientSecretCheck';
/** The provider routes that authenticate clients with a secret. */
export const CLIENT_AUTH_ROUTES = ['token', 'introspection', 'revocation'] as const;

/** RFC 6749 §2.3.1: client_id and secret, form-urlencoded, in HTTP Basic. */
export function basicCredentials(header: string): { clientId: string; secret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));
    return { clientId: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

const isoSeconds = (date: Date) => `${date.toISOString().slice(0, 19)}Z`;

/** The words for a refusal; a caller without a real key only ever gets `no_match`. */
export function describeSecretRefusal(t: Translate, check: Exclude<SecretCheck, { ok: true }>): string {
  const params: Record<string, string> = 'at' in check ? { date: isoSeconds(check.at) } : {};
  return t(`client_secret_errors.${check.reason}`, params);
}

/**
 * Stored client secrets are keyed hashes with dates, so the provider's plain comparison is
 * replaced by checkClientSecret; its verdict is kept on the request for the error description,
 * which the returned rewrite gives the answers of CLIENT_AUTH_ROUTES (around-provider-routes.ts).
 * compareClientSecret is the documented override point (oidc-provider #631).
 */
export function installClientSecretCheck(provider: Provider, deps: ClientAuthDeps): AnswerRewrite {
  // A Client never changes (client-cache.ts makes a new one when its application does): its key
  // records are read once, and the key last accepted for it is remembered.
  const keyRecords = new WeakMap<object, { secrets: ClientSecretRecord[]; revokedAt: null; disabledAt: null }>();
  const check = createRememberingSecretCheck(deps.secretHashKey);
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: Record<string, unknown>, actual: string) {
    let application = keyRecords.get(this);
    if (!application) {
      const stored = this[CLIENT_SECRETS];
      // The provider knows this client, so it is usable (client-metadata.ts): only the secrets are left to decide.
      application = { secrets: Array.isArray(stored) ? (stored as StoredSecret[]).map(readStoredSecret) : [], revokedAt: null, disabledAt: null };
      keyRecords.set(this, application);
    }
    const now = new Date();
    const verdict = check(this, application, actual, now);
    // Issue 10, item 5: the one place an accepted key is known for every client-authenticated route.
    if (verdict.ok) deps.secretUse?.noteUse(String(this.clientId), verdict.secretId, now);
    const ctx = (Provider as unknown as { ctx: Context | undefined }).ctx;
    if (ctx) ctx.state[VERDICT] = verdict;
    return verdict.ok;
  };
  // client.secret_expired, once per key across instances and restarts.
  const recordExpired = createExpiredSecretRecorder(deps);

  // RFC 6749 §5.2: a failed client authentication is 401 invalid_client (with WWW-Authenticate:
  // Basic when Basic was used, which the library adds); the description tells the developer why.
  return async (ctx) => {
    const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
    if (body?.error !== 'invalid_client') return;
    const credentials = basicCredentials(ctx.get('Authorization'))
      ?? (typeof ctx.oidc.params?.client_secret === 'string' && typeof ctx.oidc.params.client_id === 'string'
        ? { clientId: ctx.oidc.params.client_id, secret: ctx.oidc.params.client_secret } : undefined);
    if (!credentials) return;
    let check = ctx.state[VERDICT] as SecretCheck | undefined;
    // The provider does not know a revoked application: ask the store, to tell a real key's holder.
    check ??= await findVerdict(deps, credentials.clientId, credentials.secret);
    if (check.ok) return;
    await recordExpired(credentials.clientId, check);
    ctx.status = 401;
    body.error_description = describeSecretRefusal(deps.renderer.translations[deps.renderer.localeOf(ctx)], check);
  };
}

/** The verdict on a secret for an application the provider may not know (revoked, or no such id). */
export async function findVerdict(deps: Pick<ClientAuthDeps, 'applications' | 'secretHashKey'>, clientId: string, secret: string): Promise<SecretCheck> {
  const application = await deps.applications.findApplicationByClientId(clientId);
  if (!application) return { ok: false, reason: 'no_match' };
  return checkClientSecret(deps.secretHashKey, application, secret, new Date());
}
