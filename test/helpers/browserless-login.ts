// Walks the authorization code flow's HTML pages the way a browser would (cookies, redirects,
// form posts), without a browser. The real-browser walk comes with the page tests.

export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair = ''] = header.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(header) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** Every cookie held, as [name, value]. */
  entries(): [string, string][] {
    return [...this.cookies];
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

export async function request(jar: CookieJar, url: string,
  init: { method?: string; form?: Record<string, string>; headers?: Record<string, string>; signal?: AbortSignal } = {}) {
  const response = await fetch(url, {
    ...(init.signal ? { signal: init.signal } : {}),
    method: init.method ?? (init.form ? 'POST' : 'GET'),
    redirect: 'manual',
    headers: {
      cookie: jar.header(),
      ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...init.headers,
    },
    ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
  });
  jar.store(response);
  return response;
}

const absolute = (base: string, location: string) => new URL(location, base).href;

/** The CSRF token of the (first) form on a page. */
export function csrfFrom(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF token on the page');
  return match[1]!;
}

/** Follows redirects on the issuer until one leaves it (the app's redirect_uri) or a page is shown. */
export async function follow(jar: CookieJar, issuer: string, url: string, headers: Record<string, string> = {}): Promise<{ url: string; response: Response }> {
  let current = url;
  for (let hops = 0; hops < 10; hops += 1) {
    if (!current.startsWith(issuer)) return { url: current, response: new Response(null, { status: 303 }) };
    const response = await request(jar, current, { headers });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) return { url: current, response };
    current = absolute(current, location);
  }
  throw new Error('too many redirects');
}

/**
 * From an authorization URL to the app's callback URL: sign in with email and password, then
 * answer consent with `decision` when it is asked. Returns the callback URL (with code or error).
 */
export async function signInAndConsent(
  issuer: string,
  authorizationUrl: string,
  credentials: { email: string; password: string },
  decision: 'allow' | 'deny' = 'allow',
  jar = new CookieJar(),
  headers: Record<string, string> = {},
): Promise<string> {
  let step = await follow(jar, issuer, authorizationUrl, headers);
  for (let pages = 0; pages < 4; pages += 1) {
    if (!step.url.startsWith(issuer)) return step.url;
    const html = await step.response.text();
    if (step.response.status !== 200) throw new Error(`unexpected ${step.response.status} at ${step.url}: ${html.slice(0, 300)}`);
    const action = /<form method="post" action="([^"]+\/(login|consent))"/.exec(html);
    if (!action) throw new Error(`no login or consent form at ${step.url}`);
    const form = { ...(action[2] === 'login' ? credentials : { decision }), _csrf: csrfFrom(html) };
    const posted = await request(jar, absolute(issuer, action[1]!), { form, headers });
    if (posted.status !== 303) throw new Error(`form post answered ${posted.status}: ${(await posted.text()).slice(0, 300)}`);
    step = await follow(jar, issuer, absolute(issuer, posted.headers.get('location')!), headers);
  }
  throw new Error('the flow did not return to the app');
}

/** A fixed RFC 7636 S256 challenge, for authorization requests whose code is never redeemed. */
export const UNREDEEMED_CODE_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

/** A plain authorization request (code, openid) for tests of the sign-in pages, not of the code. */
export function signInPageUrl(issuer: string, clientId: string, extra: Record<string, string> = {},
  redirectUri = 'http://localhost/callback'): string {
  return `${issuer}/auth?${new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: redirectUri,
    code_challenge: UNREDEEMED_CODE_CHALLENGE, code_challenge_method: 'S256', ...extra })}`;
}

/** Opens the sign-in page; the returned function posts its login form for `email` with a password. */
export async function openLoginForm(issuer: string, clientId: string, email: string, redirectUri?: string) {
  const jar = new CookieJar();
  const step = await follow(jar, issuer, signInPageUrl(issuer, clientId, {}, redirectUri));
  const csrf = csrfFrom(await step.response.text());
  return (password: string) => request(jar, `${step.url}/login`, { form: { email, password, _csrf: csrf } });
}
