import { generateSecret, generateURI, verify } from 'otplib';

// RFC 6238 with the parameters every authenticator app understands: SHA-1, 6 digits, 30 s.
const PERIOD = 30;

/** 160 random bits (RFC 4226 §4 recommends at least 160), base32 for authenticator apps. */
export const generateTotpSecret = (): string => generateSecret({ length: 20 });

export const totpUri = (email: string, secret: string): string =>
  generateURI({ issuer: 'TokenIM', label: email, secret, algorithm: 'sha1', digits: 6, period: PERIOD });

/** qrcode is loaded by the first enrolment: most processes never draw one. */
export const totpQrSvg = async (uri: string): Promise<string> =>
  (await import('qrcode')).default.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });

/**
 * The time step a code belongs to, when it is valid within ±1 step of now (RFC 6238 §5.2 allows
 * for clock drift); undefined otherwise. The caller records the step so it is never used twice.
 */
export async function matchTotpStep(secret: string, code: string, now = Date.now()): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const epoch = Math.floor(now / 1000);
  const result = await verify({ secret, token: code, epoch, epochTolerance: PERIOD, period: PERIOD, digits: 6, algorithm: 'sha1' });
  return result.valid ? Math.floor(epoch / PERIOD) + result.delta : undefined;
}
