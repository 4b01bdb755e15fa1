import type Provider from 'oidc-provider';
import readProviderInternals from 'oidc-provider/lib/helpers/weak_cache.js';
import initializeKeystore from 'oidc-provider/lib/helpers/initialize_keystore.js';
import type { SigningJwk } from '../keys/key-timeline.ts';

/**
 * Gives a running provider a new signing keystore and published JWKS, in one synchronous step.
 *
 * oidc-provider 9 takes its keys once (`jwks`, lib/provider.js runs initialize_keystore at
 * construction) and reads them afresh on every use (ID tokens, JWT access tokens, /jwks,
 * id_token_hint checks). Running that same function again on the live provider swaps both:
 * the keys are checked as at start, and a request in flight either signed already or signs with
 * the new set. The alternative, a new Provider per keyring version behind the mount, would have to
 * rebuild every hook and event listener installed on it and every place that holds the provider.
 * Pinned to the 9.x internals: the key-rotation tests fail if an upgrade moves them.
 */
export function replaceSigningKeys(provider: Provider, keys: SigningJwk[]): void {
  const internals = readProviderInternals(provider);
  if (!internals?.keystore || !internals.jwks) {
    throw new Error('oidc-provider no longer keeps its keystore where 9.x did: signing keys change only at restart');
  }
  initializeKeystore.call(provider, { keys });
}

