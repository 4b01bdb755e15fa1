// The two oidc-provider 9 internals src/oidc/provider-signing-keys.ts uses (the package has no
// `exports` map, so they are importable; it ships no types for them).
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  interface ProviderInternals {
    keystore?: unknown;
    jwks?: { keys: { kid: string }[] };
  }
  export default function readProviderInternals(provider: object): ProviderInternals | undefined;
}

declare module 'oidc-provider/lib/helpers/initialize_keystore.js' {
  export default function initializeKeystore(this: object, jwks: { keys: object[] }): void;
}
