/**
 * The one error type of the domain: `code` names the problem (and its message in
 * views/locales/*.json under errors.<code>), `status` is the HTTP status, `expose` says whether the
 * message may be shown to the client (5xx details go to the log only), `params` fill the message.
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;
  readonly params: Record<string, string | number>;
  /** Response headers the answer carries (http-errors' convention): `Retry-After` on a 429. */
  readonly headers: Record<string, string>;

  constructor(code: string, message: string,
    options: { status?: number; params?: Record<string, string | number>; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? 400;
    this.expose = this.status < 500;
    this.params = options.params ?? {};
    this.headers = options.headers ?? {};
  }
}

export const isAppError = (error: unknown): error is AppError =>
  typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AppError';
