import type { JsonWebKey } from 'node:crypto';
import type { Config } from '../config/schema.ts';

export type SigningJwk = JsonWebKey & { kid: string; alg: 'ES256' | 'RS256'; use: 'sig' };

/**
 * The keys one `keys rotate` made (an ES256 and an RS256 key): in the JWKS from `publishedAt`,
 * signing from `signsFrom` until a newer generation signs, then published for as long as a token
 * it signed may still be presented.
 */
export interface KeyGeneration {
  keys: SigningJwk[];
  publishedAt: string;
  signsFrom: string;
}

/** What an instance serves at one moment. */
export interface PublishedKeys {
  /**
   * The JWKS, the signing generation first: oidc-provider signs with the first key of the
   * algorithm asked for (lib/helpers/keystore.js selectForSign), then the next ones, then the retired.
   */
  keys: SigningJwk[];
  signingKids: string[];
  /** When this changes without a new rotation (a next key starts signing, a retired one leaves); epoch ms. */
  changesAt: number | undefined;
}

// Resource servers and the provider allow some clock skew past `exp` (oidc-provider: 15 s).
const CLOCK_SKEW_SECONDS = 60;

/**
 * How long a retired key stays published: the longest life of what it signed. Access tokens and
 * ID tokens expire by themselves; an ID token also comes back as the id_token_hint of a logout for
 * as long as its session lives, expired or not (OpenID RP-Initiated Logout 1.0 §2: the OP SHOULD
 * accept it while the session is current), and the provider verifies it against these keys.
 */
export function retiredKeyRetentionSeconds(config: Pick<Config, 'api' | 'ttl'>): number {
  const { api, ttl } = config;
  return Math.max(api.accessTokenTtlSeconds, ttl.idTokenSeconds, ttl.sessionAbsoluteSeconds) + CLOCK_SKEW_SECONDS;
}

const at = (iso: string) => Date.parse(iso);

/**
 * `generations` newest rotation first. The signing generation is the newest one whose time has
 * come; a generation stops signing when a newer one starts (its retirement) and stays published
 * `retentionMs` longer.
 */
export function publishedKeysAt(generations: KeyGeneration[], now: number, retentionMs: number): PublishedKeys {
  const found = generations.findIndex((g) => at(g.signsFrom) <= now);
  // Every keyring has a generation signing from its creation; the oldest one stands in otherwise.
  const signingIndex = found === -1 ? generations.length - 1 : found;
  const signing = generations[signingIndex];
  if (!signing) throw new Error('the keyring holds no signing key');
  const next = generations.slice(0, signingIndex);
  const changes = next.map((g) => at(g.signsFrom)).filter((t) => t > now);
  const retired: KeyGeneration[] = [];
  for (let i = signingIndex + 1; i < generations.length; i += 1) {
    const retiredAt = Math.min(...generations.slice(0, i).map((g) => at(g.signsFrom)));
    const unpublishedAt = retiredAt + retentionMs;
    if (now < unpublishedAt) {
      retired.push(generations[i]!);
      changes.push(unpublishedAt);
    }
  }
  return {
    keys: [signing, ...next, ...retired].flatMap((g) => g.keys),
    signingKids: signing.keys.map((k) => k.kid),
    changesAt: changes.length ? Math.min(...changes) : undefined,
  };
}

export interface Rotation {
  generations: KeyGeneration[];
  added: KeyGeneration;
  /** The generation the new one replaces: it signs until `added.signsFrom`, then is published until `retiredUnpublishedAt`. */
  retiredKids: string[];
  retiredUnpublishedAt: string;
  /** Generations that left the JWKS already (every token they signed has expired): dropped now. */
  removedKids: string[];
}

/** A rotation at `now`: `fresh` is published now and signs after the publish delay. */
export function addGeneration(generations: KeyGeneration[], fresh: SigningJwk[], now: number,
  publishDelayMs: number, retentionMs: number): Rotation {
  const published = new Set(publishedKeysAt(generations, now, retentionMs).keys.map((k) => k.kid));
  const kept = generations.filter((g) => g.keys.some((k) => published.has(k.kid)));
  const removedKids = generations.filter((g) => !kept.includes(g)).flatMap((g) => g.keys.map((k) => k.kid));
  const added: KeyGeneration = { keys: fresh, publishedAt: new Date(now).toISOString(), signsFrom: new Date(now + publishDelayMs).toISOString() };
  return {
    generations: [added, ...kept],
    added,
    retiredKids: kept[0]?.keys.map((k) => k.kid) ?? [],
    retiredUnpublishedAt: new Date(now + publishDelayMs + retentionMs).toISOString(),
    removedKids,
  };
}

/**
 * Keyrings stored before the timeline kept `signing: SigningJwk[]`, newest first, one EC and one
 * RSA key per rotation, the first pair signing since `rotatedAt` (the restart after it).
 */
export function generationsOfLegacyKeyring(signing: SigningJwk[], rotatedAt: string): KeyGeneration[] {
  const generations: KeyGeneration[] = [];
  for (let i = 0; i < signing.length; i += 2) {
    const time = i === 0 ? rotatedAt : new Date(0).toISOString();
    generations.push({ keys: signing.slice(i, i + 2), publishedAt: time, signsFrom: time });
  }
  return generations;
}
