// Cookie name prefixes over https (RFC 6265bis §4.1.3; ASVS 5 3.3.1). `__Host-`: the browser keeps
// the cookie only if it is Secure, has Path=/ and no Domain, so neither a sibling subdomain nor a
// plain-http page can set or shadow it. `__Secure-` for cookies scoped to a path (the provider's
// interaction cookies live under /interaction/<uid> and /auth/<uid>). Plain names over http, where
// browsers would refuse prefixed cookies (local development).

export const hostCookieName = (name: string, isHttps: boolean) => (isHttps ? `__Host-${name}` : name);

/** oidc-provider's cookies (its `cookies.names`): the library's own names over http. */
export const providerCookieNames = (isHttps: boolean) => (isHttps
  ? { session: '__Host-session', interaction: '__Secure-interaction', resume: '__Secure-interaction_resume' }
  : { session: '_session', interaction: '_interaction', resume: '_interaction_resume' });
