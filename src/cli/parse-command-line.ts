import { parseArgs } from 'node:util';
import { UsageError, type Command, type OptionSpec, type Options } from './command.ts';

const PROGRAM = 'tokenim-auth';

/** What the command line asks for: a help text, the version, or a command with its options. */
export type Invocation =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'run'; name: string; command: Command; options: Options };

/** A usage error, one line: what is wrong, and where the help is. */
export class CommandLineError extends UsageError {
  constructor(problem: string, helpFor: string) {
    super(`${problem}; see "${[PROGRAM, helpFor, '--help'].filter(Boolean).join(' ')}"`);
  }
}

const GLOBAL_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

function optionUsage(name: string, spec: OptionSpec, required: boolean): string {
  const value = spec.type === 'boolean' ? '' : ` ${spec.choices ? spec.choices.join('|') : spec.value ?? 'VALUE'}`;
  const text = `--${name}${value}`;
  return `${required ? text : `[${text}]`}${spec.multiple ? '...' : ''}`;
}

export function commandUsage(name: string, command: Command): string {
  return [name, ...Object.entries(command.options).map(([option, spec]) => optionUsage(option, spec, command.required.includes(option)))]
    .join(' ');
}

function commandHelp(name: string, command: Command): string {
  const rows = Object.entries(command.options).map(([option, spec]) => [optionUsage(option, spec, true), spec.help] as const);
  rows.push(['--help', 'show this help'], ['--version', 'show the version']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [`usage: ${PROGRAM} ${commandUsage(name, command)}`, '', `${command.summary}.`, '', 'options:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`), ''].join('\n');
}

function listHelp(commands: Record<string, Command>, area: string | undefined): string {
  const names = Object.keys(commands).filter((name) => area === undefined || name.startsWith(`${area} `));
  const width = Math.max(...names.map((name) => name.length)) + 2;
  return [`usage: ${PROGRAM} ${area ?? '<area>'} <command> [options]`, '',
    'JSON on stdout, errors on stderr; exit 0 on success, 1 on failure, 2 on a usage error.', '', 'commands:',
    ...names.map((name) => `  ${name.padEnd(width)}${commands[name]!.summary}`), '',
    `"${PROGRAM} ${area ?? '<area>'} <command> --help" shows a command's options; --version shows the version.`, ''].join('\n');
}

/** Tokens of the arguments, without deciding yet what is allowed (that gives better messages than strict mode). */
function tokenize(args: string[], options: Record<string, OptionSpec>) {
  const config = { ...GLOBAL_OPTIONS, ...Object.fromEntries(Object.entries(options).map(([name, spec]) =>
    [name, { type: spec.type, ...(spec.multiple ? { multiple: true } : {}) }])) };
  return parseArgs({ args, options: config, strict: false, allowPositionals: true, tokens: true }).tokens;
}

/** --help or --version anywhere wins, as in git and npm. */
function globalFlag(tokens: ReturnType<typeof tokenize>): 'help' | 'version' | undefined {
  const names = new Set(tokens.filter((t) => t.kind === 'option').map((t) => t.name));
  return names.has('help') ? 'help' : names.has('version') ? 'version' : undefined;
}

function parseOptions(name: string, command: Command, tokens: ReturnType<typeof tokenize>): Options {
  const values: Options = {};
  for (const token of tokens) {
    if (token.kind === 'positional') throw new CommandLineError(`unexpected argument "${token.value}"`, name);
    if (token.kind !== 'option') continue;
    const spec = command.options[token.name];
    if (!spec) throw new CommandLineError(`unknown option ${token.rawName}`, name);
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new CommandLineError(`${token.rawName} takes no value`, name);
      values[token.name] = true;
      continue;
    }
    // Like parseArgs' strict mode: `--email --password x` is a forgotten value, not an email "--password".
    if (token.value === undefined) throw new CommandLineError(`${token.rawName} needs a value`, name);
    if (!token.inlineValue && token.value.startsWith('-')) {
      throw new CommandLineError(`${token.rawName} needs a value (write ${token.rawName}=VALUE for one that starts with "-")`, name);
    }
    if (spec.choices && !spec.choices.includes(token.value)) {
      throw new CommandLineError(`${token.rawName} must be one of ${spec.choices.join(', ')} (got "${token.value}")`, name);
    }
    if (spec.multiple) values[token.name] = [...((values[token.name] as string[] | undefined) ?? []), token.value];
    else if (values[token.name] !== undefined) throw new CommandLineError(`${token.rawName} is given twice`, name);
    else values[token.name] = token.value;
  }
  const missing = command.required.filter((option) => values[option] === undefined);
  if (missing.length) throw new CommandLineError(`missing ${missing.map((m) => `--${m}`).join(', ')}`, name);
  return values;
}

/**
 * `tokenim-auth [<area> [<command>]] [options]`: help at every level, the version, or a command
 * with validated options. Throws CommandLineError (exit 2) for anything it cannot run.
 */
export function parseCommandLine(argv: string[], commands: Record<string, Command>): Invocation {
  const areas = new Set(Object.keys(commands).map((name) => name.split(' ')[0]!));
  const [area, verb] = argv;
  if (area === undefined || area.startsWith('-')) {
    const flag = globalFlag(tokenize(argv, {}));
    if (flag === 'version') return { kind: 'version' };
    if (flag === 'help') return { kind: 'help', text: listHelp(commands, undefined) };
    throw new CommandLineError(area === undefined ? 'missing command' : `unknown option ${area}`, '');
  }
  if (!areas.has(area)) throw new CommandLineError(`unknown command "${area}"`, '');
  if (verb === undefined || verb.startsWith('-')) {
    const flag = globalFlag(tokenize(argv.slice(1), {}));
    if (flag === 'version') return { kind: 'version' };
    if (flag === 'help') return { kind: 'help', text: listHelp(commands, area) };
    throw new CommandLineError(verb === undefined ? `missing command after "${area}"` : `unknown option ${verb}`, area);
  }
  const name = `${area} ${verb}`;
  const command = commands[name];
  if (!command) throw new CommandLineError(`unknown command "${name}"`, area);
  const tokens = tokenize(argv.slice(2), command.options);
  const flag = globalFlag(tokens);
  if (flag === 'version') return { kind: 'version' };
  if (flag === 'help') return { kind: 'help', text: commandHelp(name, command) };
  return { kind: 'run', name, command, options: parseOptions(name, command, tokens) };
}
