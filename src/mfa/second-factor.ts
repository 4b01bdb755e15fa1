import type { AccountRecord, MfaStore } from '../storage/contract.ts';
import { accountActor, type AuditLog } from '../audit/audit-log.ts';
import type { AccountMail } from '../mail/account-mail.ts';
import type { AccountLinks, RequestContext } from '../accounts/account-flows.ts';
import type { PermissionCatalog } from '../permissions/catalog.ts';
import { AppError } from '../shared/app-error.ts';
import { open, seal } from '../crypto/secret-box.ts';
import { checkCurrentPassword, type CurrentPasswordDeps } from '../accounts/manage-account.ts';
import { generateTotpSecret, matchTotpStep, totpQrSvg, totpUri } from './totp.ts';
import { ACR_MFA } from '../oidc/constants.ts';
import { generateRecoveryCodes, hashRecoveryCode, looksLikeRecoveryCode } from './recovery-codes.ts';
import { secondFactorChecks } from '../metrics/instruments.ts';
import { countAttempt } from '../shared/failure-limiter.ts';
import type { MfaLimits } from './mfa-limits.ts';

export interface SecondFactorDeps extends CurrentPasswordDeps {
  mfa: MfaStore;
  audit: AuditLog;
  mail: AccountMail;
  links: AccountLinks;
  catalog: PermissionCatalog;
  /** Seals TOTP secrets (AES-256-GCM under a key derived from SECRET_KEY). */
  totpKey: Buffer;
  /** Keys the recovery-code hashes. */
  recoveryKey: Buffer;
  /** API scopes that need a second factor whenever they are requested (config `mfa.requiredForScopes`). */
  scopesRequiringMfa: readonly string[];
  /** The sign-in code page's per-account limit on wrong codes, which the account pages' code checks share. */
  mfaLimits: Pick<MfaLimits, 'perAccount'>;
}

/** What deciding whether a sign-in needs the second factor reads. */
export type SignInPolicyDeps = Pick<SecondFactorDeps, 'mfa' | 'catalog' | 'scopesRequiringMfa'>;

/** What an app's authorization request asks of the sign-in (none of it for the account pages). */
export interface SignInRequest {
  acrValues: readonly string[];
  scopes: readonly string[];
}

export interface Enrolment {
  secret: string;
  uri: string;
  qrSvg: string;
}

// A pending enrolment is kept this long, so that reloading the page does not change the secret
// the person has just scanned.
const PENDING_REUSE_MS = 15 * 60_000;

export async function isMfaEnabled(deps: Pick<SecondFactorDeps, 'mfa'>, accountId: string): Promise<boolean> {
  return Boolean((await deps.mfa.findMfaByAccountId(accountId))?.enabledAt);
}

/**
 * Whether this sign-in needs the second factor: the person enrolled one, one of their roles
 * requires it (admin does by default), the app asked for it (acr_values, step-up), or the request
 * names a permission configured to need it.
 */
export async function needsSecondFactor(
  deps: SignInPolicyDeps,
  account: Pick<AccountRecord, 'id' | 'roles'>,
  request: SignInRequest,
): Promise<boolean> {
  return request.acrValues.includes(ACR_MFA)
    || request.scopes.some((scope) => deps.scopesRequiringMfa.includes(scope))
    || deps.catalog.rolesRequireMfa(account.roles)
    || (await isMfaEnabled(deps, account.id));
}

/** Shows the secret to add to an authenticator app; the factor is active only after a correct code. */
export async function startEnrolment(deps: SecondFactorDeps, account: AccountRecord): Promise<Enrolment> {
  const existing = await deps.mfa.findMfaByAccountId(account.id);
  if (existing?.enabledAt) throw new AppError('mfa_already_enabled', 'two-factor sign-in is already on for this account');
  let secret: string;
  if (existing && Date.now() - existing.updatedAt.getTime() < PENDING_REUSE_MS) {
    secret = open(deps.totpKey, existing.totpSecret, account.id);
  } else {
    secret = generateTotpSecret();
    await deps.mfa.savePendingTotp(account.id, seal(deps.totpKey, secret, account.id), new Date());
  }
  const uri = totpUri(account.email, secret);
  return { secret, uri, qrSvg: await totpQrSvg(uri) };
}

function issueRecoveryCodes(deps: SecondFactorDeps) {
  const codes = generateRecoveryCodes();
  return { codes, hashes: codes.map((code) => hashRecoveryCode(deps.recoveryKey, code)) };
}

/**
 * Turns the factor on with the current password and its first correct code; returns the recovery
 * codes (shown once). The password keeps a stolen session from enrolling the thief's authenticator
 * and locking the owner out (ASVS 5 6.4.3, as for turning it off).
 */
export async function confirmEnrolment(
  deps: SecondFactorDeps,
  account: AccountRecord,
  input: { password: string; code: string },
  context: RequestContext,
) {
  await checkCurrentPassword(deps, account, input.password, context);
  const pending = await deps.mfa.findMfaByAccountId(account.id);
  if (!pending || pending.enabledAt) throw new AppError('mfa_enrolment_expired', 'start the two-factor set-up again');
  const step = await matchTotpStep(open(deps.totpKey, pending.totpSecret, account.id), input.code.trim());
  if (step === undefined) throw new AppError('mfa_code_wrong', 'the code is not right; check the time on your phone and try the current code');
  const { codes, hashes } = issueRecoveryCodes(deps);
  if (!(await deps.mfa.enableTotp(account.id, pending.totpSecret, step, hashes, new Date()))) {
    throw new AppError('mfa_enrolment_expired', 'start the two-factor set-up again');
  }
  await deps.audit.record({ type: 'mfa.enrolled', actor: accountActor(account), subject: account.id, ip: context.ip });
  await deps.mail.send('mfa_enabled', account.email, context.locale, deps.links.accountSecurity());
  return codes;
}

/**
 * Why a code was refused, as the error code the person is shown: a wrong TOTP code (check the
 * phone's clock), one already used (wait for the next), or a recovery code not (or no longer) valid.
 */
export type SecondFactorFailure = 'mfa_code_wrong' | 'mfa_code_used' | 'mfa_recovery_code_wrong';

export type SecondFactorResult = { ok: true; method: 'totp' | 'recovery_code' } | { ok: false; reason: SecondFactorFailure };

/**
 * Checks a TOTP code or a recovery code. Each is accepted at most once: the time step is recorded
 * atomically in the durable store (so a replay fails across instances and after a Redis flush),
 * and a recovery code is removed atomically.
 */
export async function verifySecondFactor(
  deps: SecondFactorDeps,
  account: AccountRecord,
  code: string,
  context: RequestContext & { clientId?: string | null },
): Promise<SecondFactorResult> {
  const record = await deps.mfa.findMfaByAccountId(account.id);
  const input = code.trim();
  const isRecoveryCode = looksLikeRecoveryCode(input);
  let result: SecondFactorResult = { ok: false, reason: isRecoveryCode ? 'mfa_recovery_code_wrong' : 'mfa_code_wrong' };
  if (record?.enabledAt) {
    const step = await matchTotpStep(open(deps.totpKey, record.totpSecret, account.id), input.replace(/\s/g, ''));
    if (step !== undefined && (await deps.mfa.useTotpStep(account.id, step))) {
      result = { ok: true, method: 'totp' };
    } else if (step !== undefined) {
      // A right code whose time step was already used: a replay (RFC 6238 §5.2), recorded as one.
      result = { ok: false, reason: 'mfa_code_used' };
    } else if (isRecoveryCode && (await deps.mfa.useRecoveryCode(account.id, hashRecoveryCode(deps.recoveryKey, input)))) {
      result = { ok: true, method: 'recovery_code' };
      await deps.audit.record({ type: 'mfa.recovery_code_used', actor: accountActor(account), subject: account.id, ip: context.ip,
        clientId: context.clientId ?? null, details: { left: record.recoveryCodeHashes.length - 1 } });
    }
  }
  if (!result.ok) {
    await deps.audit.record({ type: result.reason === 'mfa_code_used' ? 'mfa.replayed' : 'mfa.failed', actor: accountActor(account), subject: account.id,
      ip: context.ip, clientId: context.clientId ?? null, outcome: 'failure' });
  }
  secondFactorChecks.inc({ outcome: result.ok ? `${result.method}_accepted` : result.reason });
  return result;
}

const tooManyCodes = (seconds: number) => new AppError('too_many_codes', 'too many wrong codes; try again later',
  { status: 429, params: { minutes: Math.ceil(seconds / 60) }, headers: { 'Retry-After': String(seconds) } });

/**
 * Disabling or regenerating needs both the password and a current code (ASVS 5 6.4.3). A wrong
 * code counts against the account's limit on wrong codes, the one the sign-in's code page keeps
 * (NIST SP 800-63B §5.2.2): otherwise whoever holds a session and the password could guess the
 * 6 digits here without limit. Counted before the check (a hard limit, like the password's); the
 * code that reaches the limit and any past it are answered 429 with Retry-After (RFC 6585 §4).
 */
async function checkPasswordAndCode(deps: SecondFactorDeps, account: AccountRecord, password: string, code: string, context: RequestContext) {
  await checkCurrentPassword(deps, account, password, context);
  const attempt = await countAttempt([[deps.mfaLimits.perAccount, account.id]]);
  if (!attempt.isAllowed) throw tooManyCodes(attempt.retryAfter);
  const result = await verifySecondFactor(deps, account, code, context);
  // As on the code page, a right code is not counted (nor does it clear the wrong ones).
  if (result.ok) return attempt.uncount();
  if (attempt.retryAfterIfFailed > 0) throw tooManyCodes(attempt.retryAfterIfFailed);
  throw new AppError(result.reason, 'the code is not right, or it was already used');
}

export async function disableMfa(deps: SecondFactorDeps, account: AccountRecord, input: { password: string; code: string }, context: RequestContext) {
  if (deps.catalog.rolesRequireMfa(account.roles)) {
    throw new AppError('mfa_required_by_role', 'your role requires two-factor sign-in, so it cannot be turned off');
  }
  await checkPasswordAndCode(deps, account, input.password, input.code, context);
  await deps.mfa.deleteMfa(account.id);
  await deps.audit.record({ type: 'mfa.disabled', actor: accountActor(account), subject: account.id, ip: context.ip });
  await deps.mail.send('mfa_disabled', account.email, context.locale, deps.links.accountSecurity());
}

export async function regenerateRecoveryCodes(
  deps: SecondFactorDeps,
  account: AccountRecord,
  input: { password: string; code: string },
  context: RequestContext,
): Promise<string[]> {
  await checkPasswordAndCode(deps, account, input.password, input.code, context);
  const { codes, hashes } = issueRecoveryCodes(deps);
  await deps.mfa.replaceRecoveryCodes(account.id, hashes, new Date());
  await deps.audit.record({ type: 'mfa.recovery_codes_regenerated', actor: accountActor(account), subject: account.id, ip: context.ip });
  return codes;
}
