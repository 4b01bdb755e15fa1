import { userInfo } from 'node:os';
import type { Services } from '../services.ts';
import type { AuditEvent } from '../audit/audit-log.ts';

export type Options = Record<string, string | boolean | string[] | undefined>;

/** A flag, option or argument the command does not accept: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** May be given more than once (collected in order). */
  multiple?: boolean;
  /** The values a string option accepts; anything else is a usage error. */
  choices?: readonly string[];
  /** How the value is shown in the usage line, e.g. E for an email address. */
  value?: string;
  help: string;
}

/** What a command prints instead of one JSON document: lines, written as they come (`audit export`). */
export class LineOutput {
  readonly lines: AsyncIterable<string>;
  constructor(lines: AsyncIterable<string>) {
    this.lines = lines;
  }
}

/** A JSON result that still fails the command (exit 1), e.g. `audit verify` naming a broken record. */
export class FailedResult {
  readonly result: unknown;
  constructor(result: unknown) {
    this.result = result;
  }
}

export interface Command {
  /** One line for the list of commands. */
  summary: string;
  /** Declaration order is the order of the usage line. */
  options: Record<string, OptionSpec>;
  required: string[];
  run(services: Services, options: Options): Promise<unknown>;
}

/** The ledger's actor for the command line: the operating-system user who ran it. */
export function cliActor(): AuditEvent['actor'] {
  try {
    return { kind: 'cli', id: userInfo().username };
  } catch {
    return { kind: 'cli', id: null };
  }
}

export const str = (options: Options, name: string) => options[name] as string | undefined;
export const list = (options: Options, name: string) => (options[name] as string[] | undefined) ?? [];

/** A whole number option (`--grace`, `--limit`), or the fallback when it is not given. */
export function wholeNumber(
  options: Options, name: string, fallback: number, bounds: { min?: number; max?: number; unit?: string } = {},
): number {
  const raw = str(options, name);
  if (raw === undefined) return fallback;
  const { min = 0, max, unit } = bounds;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `${min} or more` : `from ${min} to ${max}`;
    throw new UsageError(`--${name} takes a whole number${unit ? ` of ${unit}` : ''}, ${range} (got "${raw}")`);
  }
  return value;
}

export const isoDate = (date: Date | null) => date?.toISOString() ?? null;
