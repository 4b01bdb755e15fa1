import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { tokensIssued } from './instruments.ts';

/**
 * Counts the token endpoint's successful answers. `grant.success` fires once per answer, after the
 * grant handler (whatever tokens it holds); by then grant_type is one the provider supports, so the
 * label stays a short list. Client type as RFC 6749 §2.1 defines it: public when the client does not
 * authenticate (token_endpoint_auth_method "none"), else confidential.
 */
export function countTokensIssued(provider: Provider): void {
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    tokensIssued.inc({
      grant_type: String(ctx.oidc.params?.grant_type),
      client_type: ctx.oidc.client?.clientAuthMethod === 'none' ? 'public' : 'confidential',
    });
  });
}
