import { createHash, generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import type { KeyringStore } from '../storage/contract.ts';
import { deriveKey, open, seal } from '../crypto/secret-box.ts';
import { addGeneration, generationsOfLegacyKeyring, type KeyGeneration, type Rotation, type SigningJwk } from './key-timeline.ts';

export type { SigningJwk } from './key-timeline.ts';

/** What the provider needs: signing-key generations (newest rotation first) and cookie-signing keys. */
export interface Keyring {
  generations: KeyGeneration[];
  /** Fixed for the life of an installation: rotations never touch them. */
  cookie: string[];
  rotatedAt: string;
}

/** The keyring as stored before the timeline (src/keys/key-timeline.ts) or after. */
type StoredKeyring = Omit<Keyring, 'generations'> & { generations?: KeyGeneration[]; signing?: SigningJwk[] };

const KEYRING_NAME = 'oidc';

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
  const now = new Date().toISOString();
  // The first keys sign at once: no resource server knows an older key to be replaced.
  return { generations: [{ keys: generateSigningKeys(), publishedAt: now, signsFrom: now }],
    cookie: [randomBytes(32).toString('base64url')], rotatedAt: now };
}

export interface RotationTiming {
  publishDelaySeconds: number;
  /** How long a retired key stays published (retiredKeyRetentionSeconds). */
  retentionSeconds: number;
}

export function createKeyringService(store: KeyringStore, secretKey: string) {
  const key = deriveKey(secretKey, 'keyring');
  const sealKeyring = (keyring: Keyring) => seal(key, JSON.stringify(keyring), `keyring:${KEYRING_NAME}`);
  const openKeyring = (sealed: string): Keyring => {
    const { generations, signing, ...rest } = JSON.parse(open(key, sealed, `keyring:${KEYRING_NAME}`)) as StoredKeyring;
    return { ...rest, generations: generations ?? generationsOfLegacyKeyring(signing ?? [], rest.rotatedAt) };
  };

  return {
    /** The stored keyring and its version, generated and stored on first use (several processes may race: one wins). */
    async loadVersioned(): Promise<{ keyring: Keyring; version: number }> {
      const existing = await store.findKeyring(KEYRING_NAME)
        ?? await store.insertKeyringIfAbsent({ name: KEYRING_NAME, sealed: sealKeyring(newKeyring()), version: 1, updatedAt: new Date() });
      return { keyring: openKeyring(existing.sealed), version: existing.version };
    },

    async load(): Promise<Keyring> {
      return (await this.loadVersioned()).keyring;
    },

    /** The stored version alone: a cheap read that tells whether the keyring changed. */
    async version(): Promise<number | undefined> {
      return store.findKeyringVersion(KEYRING_NAME);
    },

    /**
     * Publishes a new signing key pair now, signing after the publish delay; the generation it
     * replaces stays published until its tokens have expired, and generations past that are
     * dropped. Running instances pick it up by polling the version (src/keys/watch-keyring.ts).
     */
    async rotateSigningKeys(timing: RotationTiming, now = Date.now()): Promise<Rotation> {
      const fresh = generateSigningKeys();
      for (;;) {
        const { keyring, version } = await this.loadVersioned();
        const rotation = addGeneration(keyring.generations, fresh, now,
          timing.publishDelaySeconds * 1000, timing.retentionSeconds * 1000);
        const next: Keyring = { ...keyring, generations: rotation.generations, rotatedAt: new Date(now).toISOString() };
        const replaced = await store.replaceKeyring(
          { name: KEYRING_NAME, sealed: sealKeyring(next), version: version + 1, updatedAt: new Date(now) }, version);
        if (replaced) return rotation;
      }
    },
  };
}

export type KeyringService = ReturnType<typeof createKeyringService>;
