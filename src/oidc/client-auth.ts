import type Provider from 'oidc-provider';
import { SECRET_HASHES } from '../applications/client-metadata.ts';
import { clientSecretMatches } from '../applications/client-secret.ts';

/**
 * Stored client secrets are keyed hashes, so the provider's plain comparison is replaced by a
 * check against every live hash: the newest secret and those still in a rotation grace period.
 * compareClientSecret is the documented override point (oidc-provider #631).
 */
export function installClientSecretCheck(provider: Provider, secretHashKey: Buffer): void {
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: Record<string, unknown>, actual: string) {
    const hashes = this[SECRET_HASHES];
    if (!Array.isArray(hashes)) return false;
    // Check every hash (no early exit), so timing does not tell which one matched.
    return hashes.map((hash) => clientSecretMatches(secretHashKey, actual, String(hash))).includes(true);
  };
}
