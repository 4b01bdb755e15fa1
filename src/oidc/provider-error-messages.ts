// The provider's error pages in the person's language. oidc-provider describes its errors in
// English, with parameter names in them; people get a message of ours for every OAuth error code
// it has (views/locales: provider_errors.<code>), and the library's description stays on the page
// as a detail for the app's developer, beside the RFC error code.

/** A translation key and its parameters. */
export interface ProviderErrorMessage {
  key: string;
  params: Record<string, string>;
}

// A refused logout request (RP-Initiated Logout 1.0 §2) tells people they are still signed in
// only when they are: with no session, "still signed in" would be wrong, and so would "sign out
// from your account page".
const logoutMessage = (name: string, isSignedIn: boolean): ProviderErrorMessage =>
  ({ key: isSignedIn ? `provider_errors.${name}` : `logout_signed_out.${name}`, params: {} });

// invalid_request covers many mistakes: the ones a person can meet on a page get their own words.
const INVALID_REQUEST_PATTERNS: [RegExp, (match: RegExpExecArray, isSignedIn: boolean) => ProviderErrorMessage][] = [
  [/^missing required parameter\(?s?\)? (.+)$/, (m) => ({ key: 'provider_errors.missing_parameter', params: { param: m[1]! } })],
  [/^(.+) parameters? must not be provided twice$/, (m) => ({ key: 'provider_errors.duplicate_parameter', params: { param: m[1]! } })],
  // SessionNotFound (a subclass of invalid_request): the sign-in page outlived its interaction.
  [/interaction session|authorization request has expired|session not found|session principal changed|authentication session mismatch|already finished/,
    () => ({ key: 'errors.interaction_expired', params: {} })],
  [/^post_logout_redirect_uri not registered$/, (_m, isSignedIn) => logoutMessage('post_logout_redirect_uri', isSignedIn)],
  [/id_token_hint/, (_m, isSignedIn) => logoutMessage('id_token_hint', isSignedIn)],
  [/^(xsrf token invalid|could not find logout details)$/, () => ({ key: 'provider_errors.logout_expired', params: {} })],
  [/^unsupported prompt value requested$/, () => ({ key: 'provider_errors.unsupported_prompt', params: {} })],
];

/**
 * Which message of ours describes this provider error (`known`: the codes we have words for;
 * `isSignedIn`: whether the browser has a signed-in session, which the logout messages mention).
 */
export function providerErrorMessage(
  code: string, description: string | undefined, known: (key: string) => boolean, isSignedIn = true,
): ProviderErrorMessage {
  if (code === 'invalid_request' && description) {
    for (const [pattern, message] of INVALID_REQUEST_PATTERNS) {
      const match = pattern.exec(description);
      if (match) return message(match, isSignedIn);
    }
  }
  const key = `provider_errors.${code}`;
  return { key: known(key) ? key : 'provider_errors.other', params: {} };
}
