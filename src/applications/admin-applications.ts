import type { AccountRecord, ApplicationRecord } from '../storage/contract.ts';
import { findAccountByTypedEmail, findAccountsByIds } from '../accounts/account-rules.ts';
import type { ApplicationDeps } from './create-application.ts';
import { clientNotFound } from './find-live-application.ts';
import { CONSOLE_PAGE_READ, consolePage } from '../shared/console-page.ts';

type ConsoleDeps = Pick<ApplicationDeps, 'applications' | 'accounts'>;

export interface ApplicationsQuery {
  /** A client id prefix, a name prefix (case-insensitive), or an owner's email address (with an @: exact). */
  q: string;
  isPendingApproval: boolean;
  /** The keyset cursor: the last client id of the previous page. */
  after: string | undefined;
}

export interface ConsoleApplication {
  application: ApplicationRecord;
  /** Undefined for an application without an owner (made with the CLI) or whose owner is gone. */
  owner: AccountRecord | undefined;
}

export interface ApplicationsPage {
  rows: ConsoleApplication[];
  /** The cursor of the next page (the last client id shown), when there is one. */
  next: string | undefined;
}

/**
 * /admin/applications: every application (revoked ones too), in client id order, a page at a time
 * after `after` (keyset: stable while applications are added, no OFFSET scan). `q` with an @ is an
 * owner's email address; otherwise the client id or the name starts with it. "Waiting for
 * approval" keeps those with sensitive permissions pending.
 */
export async function searchConsoleApplications(deps: ConsoleDeps, query: ApplicationsQuery): Promise<ApplicationsPage> {
  const q = query.q.trim();
  let ownerId: string | undefined;
  if (q.includes('@')) {
    const owner = await findAccountByTypedEmail(deps.accounts, q);
    if (!owner) return { rows: [], next: undefined };
    ownerId = owner.id;
  }
  const found = await deps.applications.searchApplications({
    prefix: ownerId === undefined ? q || undefined : undefined, ownerId, isPendingApproval: query.isPendingApproval,
    afterClientId: query.after, limit: CONSOLE_PAGE_READ,
  });
  const { shown, next } = consolePage(found, (last) => last.clientId);
  const owners = await findAccountsByIds(deps.accounts, shown.map((application) => application.ownerId));
  return {
    rows: shown.map((application) => ({ application, owner: application.ownerId ? owners.get(application.ownerId) : undefined })),
    next,
  };
}

/** /admin/applications/:clientId: the application (revoked ones too, to be seen) and its owner. */
export async function findConsoleApplication(deps: ConsoleDeps, clientId: string): Promise<ConsoleApplication> {
  const application = await deps.applications.findApplicationByClientId(clientId);
  if (!application) throw clientNotFound();
  const owner = application.ownerId ? await deps.accounts.findAccountById(application.ownerId) : undefined;
  return { application, owner };
}

