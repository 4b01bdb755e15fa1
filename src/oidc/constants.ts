// Names shared by the provider configuration, the sign-in pages and the account pages.

/** RFC 8176 amr values and our acr values for a password sign-in and a two-factor one. */
export const ACR_PASSWORD = 'urn:tokenim:acr:pwd';
export const ACR_MFA = 'urn:tokenim:acr:mfa';

/** The account pages sign people in through the provider like any app, as this first-party client. */
export const ACCOUNT_CLIENT_ID = 'tokenim-account';
export const accountCallbackUrl = (issuer: string) => `${issuer}/account/callback`;

/** RFC 9068 access tokens for the TokenIM API are signed with ES256 (cheaper to sign and verify than RS256). */
export const API_ACCESS_TOKEN_ALG = 'ES256';
