// First: on Node.js before 24 one line instead of a stack (see the file).
import '../../bin/require-node-24.js';
import { readFileSync } from 'node:fs';
import { loadConfig, ConfigError } from '../config/load-config.ts';
import { buildServices, type Services } from '../services.ts';
import { closeConnections } from '../storage/open-stores.ts';
import { isAppError } from '../shared/app-error.ts';
import { once } from 'node:events';
import { FailedResult, LineOutput, UsageError } from './command.ts';
import { COMMANDS } from './commands.ts';
import { parseCommandLine, type Invocation } from './parse-command-line.ts';

// `tokenim-auth <area> <command> [options]`: JSON on stdout, errors on stderr;
// exit 0 on success, 1 on failure, 2 on a usage error.

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv, COMMANDS);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`tokenim-auth: ${error.message}\n`);
    return 2;
  }
  if (invocation.kind === 'help') {
    process.stdout.write(invocation.text);
    return 0;
  }
  if (invocation.kind === 'version') {
    process.stdout.write(`tokenim-auth ${version()}\n`);
    return 0;
  }
  let services: Services | undefined;
  try {
    services = await buildServices(loadConfig());
    const result = await invocation.command.run(services, invocation.options);
    if (result instanceof LineOutput) {
      for await (const line of result.lines) {
        // Backpressure: a slow reader (a pipe to gzip, a network share) holds the next page back.
        if (!process.stdout.write(line)) await once(process.stdout, 'drain');
      }
      return 0;
    }
    const failed = result instanceof FailedResult;
    process.stdout.write(`${JSON.stringify(failed ? result.result : result, null, 2)}\n`);
    return failed ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      // An option value only the command can judge (e.g. --grace soon): still a usage error.
      process.stderr.write(`tokenim-auth: ${error.message}; see "tokenim-auth ${invocation.name} --help"\n`);
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
