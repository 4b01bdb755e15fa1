import { createHmac, randomInt } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
// No 0/O, 1/l/i: codes are read from paper.
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** Ten codes like `k7pq-3mzt-ahx9` (60 bits each), shown once. */
export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () =>
    Array.from({ length: 3 }, () => Array.from({ length: 4 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')).join('-'));
}

/** What a person types: case, spaces and dashes do not matter. */
export const normalizeRecoveryCode = (input: string): string => input.toLowerCase().replace(/[\s-]/g, '');

export const looksLikeRecoveryCode = (input: string): boolean => /^[a-z0-9]{12}$/.test(normalizeRecoveryCode(input));

/** Keyed hash (the key comes from SECRET_KEY): a leaked database cannot be used to test guesses. */
export const hashRecoveryCode = (key: Buffer, code: string): string =>
  createHmac('sha256', key).update(normalizeRecoveryCode(code)).digest('base64url');
