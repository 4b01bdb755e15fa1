import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout. Secrets never reach a log line: these paths are redacted wherever they appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'tokenim-auth' },
    redact: {
      paths: ['password', '*.password', 'client_secret', '*.client_secret', 'clientSecret', '*.clientSecret',
        'secretKey', '*.secretKey', 'req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  });
}
