import { createHash, generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import type { KeyringStore } from '../storage/contract.ts';
import { deriveKey, open, seal } from '../crypto/secret-box.ts';

export type SigningJwk = JsonWebKey & { kid: string; alg: 'ES256' | 'RS256'; use: 'sig' };

/** What the provider needs: private signing keys (newest first) and cookie-signing keys. */
export interface Keyring {
  signing: SigningJwk[];
  cookie: string[];
  rotatedAt: string;
}

const KEYRING_NAME = 'oidc';
// Keys of this many generations stay published after a rotation, so tokens signed before it
// still verify until they expire (ID tokens live 1 h, refresh tokens are opaque).
const GENERATIONS_KEPT = 2;

/** RFC 7638 JWK thumbprint, used as the kid. */
function thumbprint(jwk: JsonWebKey): string {
  const members = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

function generateSigningKeys(): SigningJwk[] {
  // ES256 signs the access tokens (cheaper than RS256); RS256 stays the ID token default
  // (OIDC Core §3.1.3.7: RPs must support it).
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  return [
    { ...ec, kid: thumbprint(ec), alg: 'ES256', use: 'sig' },
    { ...rsa, kid: thumbprint(rsa), alg: 'RS256', use: 'sig' },
  ];
}

function newKeyring(): Keyring {
  return { signing: generateSigningKeys(), cookie: [randomBytes(32).toString('base64url')], rotatedAt: new Date().toISOString() };
}

export function createKeyringService(store: KeyringStore, secretKey: string) {
  const key = deriveKey(secretKey, 'keyring');
  const sealKeyring = (keyring: Keyring) => seal(key, JSON.stringify(keyring), `keyring:${KEYRING_NAME}`);
  const openKeyring = (sealed: string) => JSON.parse(open(key, sealed, `keyring:${KEYRING_NAME}`)) as Keyring;

  return {
    /** The stored keyring, generated and stored on first use (several processes may race: one wins). */
    async load(): Promise<Keyring> {
      const existing = await store.findKeyring(KEYRING_NAME);
      if (existing) return openKeyring(existing.sealed);
      const stored = await store.insertKeyringIfAbsent({
        name: KEYRING_NAME,
        sealed: sealKeyring(newKeyring()),
        version: 1,
        updatedAt: new Date(),
      });
      return openKeyring(stored.sealed);
    },

    /**
     * Puts a new signing key pair first (it signs from the next start) and keeps the previous
     * generation published for verification. Running instances pick it up when restarted.
     */
    async rotateSigningKeys(): Promise<{ added: string[]; retired: string[] }> {
      for (;;) {
        const current = await store.findKeyring(KEYRING_NAME);
        if (!current) {
          await this.load();
          continue;
        }
        const keyring = openKeyring(current.sealed);
        const fresh = generateSigningKeys();
        const kept = [...fresh, ...keyring.signing].slice(0, GENERATIONS_KEPT * fresh.length);
        const retired = keyring.signing.filter((k) => !kept.includes(k)).map((k) => k.kid);
        const next: Keyring = { ...keyring, signing: kept, rotatedAt: new Date().toISOString() };
        const replaced = await store.replaceKeyring(
          { name: KEYRING_NAME, sealed: sealKeyring(next), version: current.version + 1, updatedAt: new Date() },
          current.version,
        );
        if (replaced) return { added: fresh.map((k) => k.kid), retired };
      }
    },
  };
}

export type KeyringService = ReturnType<typeof createKeyringService>;
