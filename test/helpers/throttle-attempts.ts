import { argon2, randomBytes } from 'node:crypto';
import type { LoginThrottle } from '../../src/accounts/login-throttle.ts';
import { ARGON2_PARAMETERS } from '../../src/accounts/password-hash.ts';

/**
 * A wrong password at the throttle: the attempt is counted before its check and, being wrong,
 * stays counted. Returns the lockout it brought, or the one that refused it (0 for neither).
 */
export async function wrongPassword(throttle: LoginThrottle, email: string, ip: string): Promise<number> {
  const attempt = await throttle.countAttempt(email, ip);
  return attempt.isAllowed ? attempt.retryAfterIfFailed : attempt.retryAfter;
}

/**
 * A PHC argon2id hash of `password` (the format of src/accounts/password-hash.ts, which reads the
 * cost from the hash) with 80 passes instead of 2: about a second per check. Concurrent attempts
 * against it are all in flight long before the first check ends, so a throttle that counts a
 * failure only after the check shows its race every time, not once in a while.
 */
export async function slowPasswordHash(password: string): Promise<string> {
  const salt = randomBytes(16);
  const parameters = { ...ARGON2_PARAMETERS, passes: 80 };
  const hash = await new Promise<Buffer>((resolve, reject) => argon2('argon2id', { message: password, nonce: salt, ...parameters },
    (error, key) => (error ? reject(error) : resolve(key))));
  const b64 = (buffer: Buffer) => buffer.toString('base64').replace(/=+$/, '');
  return `$argon2id$v=19$m=${parameters.memory},t=${parameters.passes},p=${parameters.parallelism}$${b64(salt)}$${b64(hash)}`;
}
