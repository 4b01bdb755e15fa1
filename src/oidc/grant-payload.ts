import type { ArtifactPayload } from '../storage/contract.ts';

/** oidc-provider's Grant as stored (lib/models/grant.js IN_PAYLOAD, plus iat and exp). */
export type GrantPayload = ArtifactPayload & { clientId?: string; iat?: number; exp?: number; openid?: { scope?: string };
  resources?: Record<string, string> };

/** What a grant holds: its OIDC scopes and the scopes of every resource it names, each once. */
export const grantScopes = (grant: GrantPayload): string[] => [...new Set([...(grant.openid?.scope?.split(' ') ?? []),
  ...Object.values(grant.resources ?? {}).flatMap((scope) => scope.split(' '))].filter(Boolean))];
