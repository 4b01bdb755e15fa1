import { pino, type DestinationStream, type Logger } from 'pino';
import { currentRequest } from './request-context.ts';

export type { Logger };

/**
 * JSON lines on stdout (or `destination`). Every line carries the process id (several workers
 * write to one stream) and, when logged while a request is served, its request id (the one
 * echoed in X-Request-Id and kept in the ledger), read from the request's AsyncLocalStorage.
 * Secrets never reach a log line: these paths are redacted wherever they appear, and
 * test/integration/no-secrets.test.ts greps a whole run's lines for every secret it made.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { pid: process.pid, service: 'tokenim-auth' },
    // A new object each line: pino merges the line's fields into what this returns.
    mixin: () => {
      const request = currentRequest();
      return request ? { requestId: request.requestId } : {};
    },
    redact: {
      paths: ['password', '*.password', 'client_secret', '*.client_secret', 'clientSecret', '*.clientSecret',
        'secretKey', '*.secretKey', 'req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  }, destination);
}
