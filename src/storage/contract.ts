// The storage contract. Domains declare what they need here; every backend (sqlite/, mongo/,
// redis/) implements it as a thin translation, and test/integration/storage-conformance.test.ts
// runs the same cases against each one. Backends translate, they do not decide policy.

/** What oidc-provider stores per model (Session, AuthorizationCode, RefreshToken, Grant, …). */
export type ArtifactPayload = Record<string, unknown> & {
  accountId?: string;
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: number;
};

/**
 * oidc-provider's adapter interface, with the model passed in so that one store serves every model.
 * `consume` is atomic: it returns true for exactly one caller, false when the artifact was already
 * consumed or does not exist. `destroy` likewise: true only for the caller that removed it.
 */
export interface ArtifactStore {
  upsert(model: string, id: string, payload: ArtifactPayload, expiresInSeconds: number | undefined): Promise<void>;
  find(model: string, id: string): Promise<ArtifactPayload | undefined>;
  findByUid(model: string, uid: string): Promise<ArtifactPayload | undefined>;
  findByUserCode(model: string, userCode: string): Promise<ArtifactPayload | undefined>;
  consume(model: string, id: string): Promise<boolean>;
  destroy(model: string, id: string): Promise<boolean>;
  revokeByGrantId(model: string, grantId: string): Promise<void>;
  /** The live artifacts of one account (its grants, its sessions), in no particular order. */
  listByAccountId(model: string, accountId: string): Promise<{ id: string; payload: ArtifactPayload }[]>;
}

export interface AccountRecord {
  id: string;
  email: string; // stored lower-cased; unique
  name: string;
  passwordHash: string;
  emailVerified: boolean;
  roles: string[];
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface AccountStore {
  /** Throws DuplicateError when the email is taken. */
  insertAccount(account: AccountRecord): Promise<void>;
  findAccountById(id: string): Promise<AccountRecord | undefined>;
  findAccountByEmail(email: string): Promise<AccountRecord | undefined>;
  updateAccountRolesById(id: string, roles: string[], updatedAt: Date): Promise<boolean>;
  /** Throws DuplicateError when a new email is taken. False when there is no such account. */
  updateAccountById(id: string, patch: AccountPatch): Promise<boolean>;
  /** Oldest first; with `role`, only the accounts that have it. */
  listAccounts(query: AccountQuery): Promise<AccountRecord[]>;
  /**
   * The admin console's list: in email order after `afterEmail` (a keyset cursor), and with
   * `prefix` only the accounts whose email or `accountNameKey(name)` starts with it. Each branch is
   * an index range (email, name key), never a scan of every account.
   */
  searchAccounts(query: AccountSearch): Promise<AccountRecord[]>;
  /** An enabled account other than `exceptId` that has one of `roles` (the last-admin guard); undefined when none. */
  findActiveAccountWithRole(roles: readonly string[], exceptId: string): Promise<AccountRecord | undefined>;
}

export interface AccountSearch {
  /** Already folded with accountNameKey (emails are stored lower-cased, so it serves both). */
  prefix?: string;
  afterEmail?: string;
  limit: number;
}

/**
 * How names are searched: lower-cased (JavaScript's full Unicode case mapping), stored beside the
 * name by every backend so that a prefix search is an index range. Emails are stored lower-cased.
 */
export const accountNameKey = (name: string): string => name.toLowerCase();

/** The upper bound of a prefix range: every string starting with `prefix` sorts below it (UTF-8 byte order). */
export const prefixRangeEnd = (prefix: string): string => `${prefix}\u{10FFFF}`;

export interface AccountQuery {
  role?: string;
  limit: number;
}

export type AccountPatch = Partial<Pick<AccountRecord, 'name' | 'email' | 'passwordHash' | 'emailVerified' | 'disabled'>> & {
  updatedAt: Date;
};

/**
 * One API key of an application, a record of its own (logto keeps them as rows). The secret itself
 * is never stored: only its keyed hash and a hint (its last 4 characters) to tell keys apart.
 * Records stored before keys had ids read with an id derived from the hash (src/storage/stored-secret.ts).
 */
export interface ClientSecretRecord {
  id: string;
  hint: string;
  hash: string;
  createdAt: Date;
  /** null: no expiry. */
  expiresAt: Date | null;
  /** When a rotation replaced it; it keeps working until `graceEndsAt`. */
  replacedAt: Date | null;
  graceEndsAt: Date | null;
  /** Ended early ("revoke the old key now"). */
  revokedAt: Date | null;
  /** Accepted last, as of the last flush of src/applications/secret-use-tracker.ts (up to a minute late). */
  lastUsedAt: Date | null;
  /** Days-before-expiry thresholds whose warning mail went out (src/applications/notify-expiring-secrets.ts). */
  expiryNoticesSent: number[];
  /**
   * When its first use after expiry was refused and client.secret_expired recorded, once across
   * instances and restarts (src/applications/record-expired-secret-use.ts); null until then.
   */
  expiredUseRecordedAt: Date | null;
}

export type ApplicationType = 'service' | 'web' | 'native';

export interface ApplicationRecord {
  clientId: string;
  name: string;
  type: ApplicationType;
  /** Space-separated allow-list of scopes this client may ask for. */
  scope: string;
  /**
   * Space-separated sensitive permissions its developer asked for on /developers that wait for an
   * administrator's approval; not in `scope` until approved, so no token carries them. '' when
   * none; records stored before approvals existed read as ''.
   */
  pendingScope: string;
  redirectUris: string[];
  /** RP-Initiated Logout 1.0 §3; records stored before it existed read as []. */
  postLogoutRedirectUris: string[];
  /** The language its owner used on /developers: their key-expiry mails are in it (absent: English). */
  ownerLocale?: 'en' | 'zh-CN';
  ownerId: string | null;
  /** Newest first. Empty for native (public) clients. */
  secrets: ClientSecretRecord[];
  isResourceServer: boolean;
  isFirstParty: boolean;
  /** Ended for good (`clients revoke`, deleted on /developers); it takes no further change. */
  revokedAt: Date | null;
  /**
   * Switched off by an administrator, reversibly (Keycloak's "Enabled" switch): while set, the
   * provider does not know the client (src/applications/find-live-application.ts isApplicationUsable).
   * null when enabled; records stored before it existed read as null.
   */
  disabledAt: Date | null;
  /**
   * Space-separated sensitive permissions an administrator refused, shown to the developer on
   * /developers until they next change the permissions. '' when none; records stored before
   * refusals existed read as ''.
   */
  refusedScope: string;
  /**
   * Token requests per minute an administrator set for this application (`clients set-rate-limit`,
   * the admin console), 0 for none; null: the default of its type (config rateLimits.tokenPerMinute).
   * Records stored before rate limits existed read as null.
   */
  tokenRateLimitPerMinute: number | null;
  createdAt: Date;
  updatedAt: Date;
  /** Optimistic concurrency: every replace must name the version it read. */
  version: number;
}

export interface ApplicationStore {
  /** Throws DuplicateError when the client id is taken. */
  insertApplication(application: ApplicationRecord): Promise<void>;
  findApplicationByClientId(clientId: string): Promise<ApplicationRecord | undefined>;
  listApplicationsByOwnerId(ownerId: string): Promise<ApplicationRecord[]>;
  /** Every application, revoked ones included, oldest first. */
  listApplications(limit: number): Promise<ApplicationRecord[]>;
  /** One page of the admin console's list (see ApplicationSearch). */
  searchApplications(query: ApplicationSearch): Promise<ApplicationRecord[]>;
  /**
   * Replaces the record only if its stored version is still `expectedVersion` (one atomic
   * compare-and-set), storing it with version `expectedVersion + 1`. False when it lost a race.
   */
  replaceApplication(application: ApplicationRecord, expectedVersion: number): Promise<boolean>;
  /**
   * Applies `change` to the stored record atomically: the store reads, calls `change`, and writes
   * only if nobody wrote meanwhile (compare-and-set on `version`), calling `change` again on what
   * the winner stored otherwise. `change` may throw to refuse. Undefined when there is no such
   * application; else the record before and after (with its new version).
   */
  updateApplication(clientId: string, change: ApplicationChange): Promise<ApplicationUpdate | undefined>;
  /**
   * Sets one secret's `lastUsedAt` to `at` unless it already holds a later time, in one atomic
   * write that touches nothing else (the hot path of last-use tracking); bumps `version` so a
   * concurrent compare-and-set re-reads. False when there is no such application or secret.
   */
  recordSecretUse(clientId: string, secretId: string, at: Date): Promise<boolean>;
}

/**
 * The admin console's list of applications (revoked ones included), in client id order after
 * `afterClientId` (a keyset cursor). Filters combine with AND; each is an index range, and only
 * the matches are sorted, never every application.
 */
export interface ApplicationSearch {
  /** The client id starts with it, or the name does (folded as account names are: accountNameKey). */
  prefix?: string;
  ownerId?: string;
  /** Only those with sensitive permissions waiting for an administrator (pendingScope not ''). */
  isPendingApproval?: boolean;
  afterClientId?: string;
  limit: number;
}

/** A pure function of the current record: it may be called more than once. */
export type ApplicationChange = (current: ApplicationRecord) => ApplicationRecord;

export interface ApplicationUpdate {
  before: ApplicationRecord;
  after: ApplicationRecord;
}

/** Sealed (encrypted) key material: signing keys and cookie keys. */
export interface KeyringRecord {
  name: string;
  sealed: string;
  version: number;
  updatedAt: Date;
}

export interface KeyringStore {
  findKeyring(name: string): Promise<KeyringRecord | undefined>;
  /** Only the version: every instance polls it every few seconds for a rotation (src/keys/watch-keyring.ts). */
  findKeyringVersion(name: string): Promise<number | undefined>;
  /** Creates the keyring unless one exists; returns whichever is stored afterwards. */
  insertKeyringIfAbsent(record: KeyringRecord): Promise<KeyringRecord>;
  replaceKeyring(record: KeyringRecord, expectedVersion: number): Promise<boolean>;
}

/**
 * One ledger record. `seq` numbers them 1, 2, 3, … in the order they were linked, and `hash` is
 * SHA-256 over the canonical encoding of the record with `prevHash`, the previous record's hash
 * (src/audit/ledger-chain.ts): editing, deleting or reordering records breaks the chain there.
 */
export interface AuditEventRecord {
  seq: number;
  id: string;
  /** Never earlier than the previous record's: time order is seq order. */
  at: Date;
  type: string;
  actor: { kind: 'account' | 'client' | 'system' | 'cli'; id: string | null };
  subject: string | null;
  clientId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  outcome: 'success' | 'failure';
  /** The permissions (scopes) the event is about: granted, revoked, requested, issued; [] when none. */
  permissions: string[];
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** The last linked record, which the next one is chained to. */
export type AuditChainHead = Pick<AuditEventRecord, 'seq' | 'hash' | 'at'>;

export interface AuditQuery {
  since?: Date;
  type?: string;
  subject?: string;
  limit: number;
}

/** The ledger's filters (all optional, combined with AND), newest first from before `beforeSeq`. */
export interface AuditFilter {
  actorId?: string;
  subject?: string;
  clientId?: string;
  permission?: string;
  type?: string;
  outcome?: AuditEventRecord['outcome'];
  since?: Date;
  until?: Date;
  /** The cursor: records with a smaller seq only. */
  beforeSeq?: number;
  limit: number;
}

export interface AuditStore {
  /**
   * Links and stores one record atomically: the store passes the current head (undefined for an
   * empty ledger) to `link`, which returns the record to store after it; when another writer
   * linked first, the store calls `link` again with the new head. Returns what was stored.
   */
  appendAuditEvent(link: (head: AuditChainHead | undefined) => AuditEventRecord): Promise<AuditEventRecord>;
  /** Oldest first. */
  listAuditEvents(query: AuditQuery): Promise<AuditEventRecord[]>;
  /** Newest first (seq descending); served by indexes, never a scan of the whole ledger. */
  queryAuditEvents(filter: AuditFilter): Promise<AuditEventRecord[]>;
  /** The seq of the first record at or after `at` (time order is seq order); undefined when none. */
  firstAuditSeqSince(at: Date): Promise<number | undefined>;
  /** Records from `fromSeq` on, ascending: for verifying and exporting the chain page by page. */
  readAuditChain(fromSeq: number, limit: number): Promise<AuditEventRecord[]>;
  /** Deletes the records with seq below `seq` (retention); returns how many. Only src/audit/ledger-retention.ts calls it. */
  purgeAuditEventsBefore(seq: number): Promise<number>;
}

/**
 * The authorization index: one row per live grant of a person to an application (oidc-provider's
 * Grant artifact, kept in step by src/oidc/authorization-index.ts), so that the admin console
 * answers "who can read call records?" from an index instead of reading every grant's payload.
 */
export interface AuthorizationRecord {
  grantId: string;
  accountId: string;
  clientId: string;
  /** The scopes the grant holds (OIDC and API), as granted: what the person can obtain today may be less. */
  permissions: string[];
  /** The grant's `iat`. */
  createdAt: Date;
  /** The grant's `exp`; expired grants are never listed. */
  expiresAt: Date | null;
  /** A token last issued from the grant, as of the last flush of its last-use tracker (up to a minute late). */
  lastUsedAt: Date | null;
}

/** Newest first: (createdAt, grantId) descending; the keyset cursor is the last row of the previous page. */
export interface AuthorizationFilter {
  permission?: string;
  accountId?: string;
  clientId?: string;
  /** Only rows after this one in that order. */
  after?: { createdAt: Date; grantId: string };
}

export interface AuthorizationStore {
  /** Inserts or replaces the grant's row; its lastUsedAt is kept. */
  saveAuthorization(record: Omit<AuthorizationRecord, 'lastUsedAt'>): Promise<void>;
  /** True when there was a row to delete. */
  deleteAuthorization(grantId: string): Promise<boolean>;
  /** Sets lastUsedAt to `at` unless it holds a later time already; nothing when there is no such row. */
  recordAuthorizationUse(grantId: string, at: Date): Promise<void>;
  findAuthorization(grantId: string): Promise<AuthorizationRecord | undefined>;
  /** The live rows matching every filter given, newest first; served by an index for each filter. */
  listAuthorizations(filter: AuthorizationFilter, limit: number): Promise<AuthorizationRecord[]>;
  countAuthorizations(filter: Omit<AuthorizationFilter, 'after'>): Promise<number>;
}

/** A person's second factor. Durable, so that replay protection survives a Redis flush. */
export interface MfaRecord {
  accountId: string;
  /** The TOTP secret, sealed under SECRET_KEY (AES-256-GCM). */
  totpSecret: string;
  /** null while enrolment waits for the first correct code. */
  enabledAt: Date | null;
  /** The last RFC 6238 time step accepted: a code is never accepted twice. */
  lastUsedStep: number;
  /** Keyed hashes of the unused recovery codes. */
  recoveryCodeHashes: string[];
  updatedAt: Date;
}

export interface MfaStore {
  findMfaByAccountId(accountId: string): Promise<MfaRecord | undefined>;
  /** Starts (or restarts) an enrolment; refused (false) when a factor is already enabled. */
  savePendingTotp(accountId: string, totpSecret: string, at: Date): Promise<boolean>;
  /** Enables the pending factor; false when there is none pending or it changed meanwhile. */
  enableTotp(accountId: string, totpSecret: string, step: number, recoveryCodeHashes: string[], at: Date): Promise<boolean>;
  /** Atomic: true for exactly one caller, and only if `step` is later than the last used one. */
  useTotpStep(accountId: string, step: number): Promise<boolean>;
  /** Atomic: removes the code's hash; true for exactly one caller. */
  useRecoveryCode(accountId: string, hash: string): Promise<boolean>;
  replaceRecoveryCodes(accountId: string, hashes: string[], at: Date): Promise<boolean>;
  deleteMfa(accountId: string): Promise<boolean>;
}

/**
 * Tokens of a grant, a subject, a client, or a browser session's sign-in to one app
 * (`<session uid>:<client id>`) issued before `at` are no longer to be accepted.
 */
export interface RevocationEventRecord {
  kind: 'grant' | 'subject' | 'client' | 'session';
  value: string;
  at: Date;
}

/**
 * Named counters that tell the processes sharing a store that something they keep in memory
 * changed (src/storage/change-feed.ts): a writer bumps, a reader compares with what it last read.
 */
export interface ChangeCounterStore {
  bumpChangeCounter(name: string): Promise<void>;
  /** 0 when it was never bumped. */
  readChangeCounter(name: string): Promise<number>;
}

export interface RevocationStore {
  appendRevocation(event: RevocationEventRecord): Promise<void>;
  /** Events at or after `since`, oldest first. */
  listRevocationsSince(since: Date, limit: number): Promise<RevocationEventRecord[]>;
}

/** A failure count, live until `expiresAt` (epoch milliseconds). */
export interface FailureCount {
  points: number;
  expiresAt: number;
}

/**
 * Counters for the failure limiters (src/shared/failure-limiter.ts), which decide what a count
 * means; the store only counts. Keys are opaque (already hashed).
 */
export interface FailureCounterStore {
  /** Atomic: adds `points` to the live count, or starts one expiring at `expiresAt`; returns the count after. */
  incrementFailureCount(key: string, points: number, expiresAt: number): Promise<FailureCount>;
  /** Sets the count and its expiry, whatever was there. */
  replaceFailureCount(key: string, points: number, expiresAt: number): Promise<FailureCount>;
  /** The live count, if any. */
  findFailureCount(key: string): Promise<FailureCount | undefined>;
  /** True when there was a count to delete. */
  deleteFailureCount(key: string): Promise<boolean>;
}

/** Everything the durable store (MongoDB or SQLite) keeps. */
export interface DurableStores {
  revocations: RevocationStore;
  changeCounters: ChangeCounterStore;
  mfa: MfaStore;
  artifacts: ArtifactStore;
  accounts: AccountStore;
  applications: ApplicationStore;
  keyrings: KeyringStore;
  audit: AuditStore;
  authorizations: AuthorizationStore;
}

/** A connection the process owns: /readyz pings it, shutdown closes it. */
export interface StoreConnection {
  readonly name: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class DuplicateError extends Error {
  constructor(what: string) {
    super(`${what} already exists`);
    this.name = 'DuplicateError';
  }
}

/** By name, not instanceof: errors may cross module realms (test runners' VMs). */
export const isDuplicateError = (error: unknown): error is DuplicateError =>
  typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'DuplicateError';
