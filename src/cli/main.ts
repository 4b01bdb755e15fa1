import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from '../config/load-config.ts';
import { buildServices, type Services } from '../services.ts';
import { closeConnections } from '../storage/open-stores.ts';
import { isAppError } from '../shared/app-error.ts';
import { COMMANDS, UsageError, type Command, type Options } from './commands.ts';

// `tokenim-auth <area> <verb> [options]`: JSON on stdout, errors on stderr;
// exit 0 on success, 1 on failure, 2 on a usage error.
const USAGE = `usage: tokenim-auth <command> [options]\n${Object.values(COMMANDS).map((c) => `  ${c.usage}`).join('\n')}\n`;

function parse(command: Command, args: string[]): Options {
  let values: Options;
  try {
    values = parseArgs({ args, options: command.options, strict: true, allowPositionals: false }).values as Options;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const missing = command.required.filter((name) => values[name] === undefined);
  if (missing.length) throw new UsageError(`missing ${missing.map((m) => `--${m}`).join(', ')}`);
  return values;
}

async function main(argv: string[]): Promise<number> {
  const name = argv.slice(0, 2).join(' ');
  const command = COMMANDS[name];
  if (!command || argv[0] === '--help') {
    process.stderr.write(argv.length && argv[0] !== '--help' ? `tokenim-auth: unknown command "${name}"\n${USAGE}` : USAGE);
    return 2;
  }
  let services: Services | undefined;
  try {
    const options = parse(command, argv.slice(2));
    services = await buildServices(loadConfig());
    const result = await command.run(services, options);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`tokenim-auth: ${error.message}\nusage: tokenim-auth ${command.usage}\n`);
      return 2;
    }
    const message = isAppError(error) || error instanceof ConfigError ? error.message : `unexpected error: ${(error as Error).message}`;
    process.stderr.write(`tokenim-auth: ${message}\n`);
    return 1;
  } finally {
    if (services) await closeConnections(services.stores.connections);
  }
}

process.exitCode = await main(process.argv.slice(2));
