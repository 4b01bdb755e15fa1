import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines on stdout (or `destination`). Secrets never reach a log line: these paths are redacted
 * wherever they appear, and test/integration/no-secrets.test.ts greps a whole run's lines for every secret it made.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { service: 'tokenim-auth' },
    redact: {
      paths: ['password', '*.password', 'client_secret', '*.client_secret', 'clientSecret', '*.clientSecret',
        'secretKey', '*.secretKey', 'req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  }, destination);
}
