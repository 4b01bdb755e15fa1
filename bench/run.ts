// The benchmark suite (issue 12, item 5): `npm run bench`. Every scenario runs against ours and,
// in the same run and interleaved A B A B, against a baseline: bare oidc-provider
// (bench/bare-provider.ts), or for sign-ins the argon2id limit of this machine. Prints a table
// with the ratio and the issue's target next to each figure, and writes every sample as JSON.
// Targets are reported, never enforced: the suite exits 0 unless a scenario could not run.
//
// Usage: npm run bench [-- --quick] [-- --only client-credentials,memory] [-- --skip sign-in]
//        [-- --seconds 8 --rounds 2 --connections 32 --out test-output/bench.json]   (--list names the scenarios)
// Default settings take about 8 minutes on two cores; --quick about 3 (a check, not figures to quote).
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { clientCredentialsScenarios } from './scenarios/client-credentials.ts';
import { lastUseScenario, ledgerScenario } from './scenarios/earlier-benches.ts';
import { introspectionScenario } from './scenarios/introspection.ts';
import { memoryScenario } from './scenarios/memory.ts';
import { refreshScenarios } from './scenarios/refresh.ts';
import { signInScenario } from './scenarios/sign-in.ts';
import { figure, formatTable } from './support/report.ts';
import { createSuite, type Scenario, type SuiteOptions } from './support/suite.ts';

// In this order: memory first (it needs servers that have served nothing), two workers next to
// one, and few restarts of ours (one server of ours runs at a time).
export const SCENARIOS: Scenario[] = [memoryScenario, ...clientCredentialsScenarios, ...refreshScenarios, introspectionScenario,
  signInScenario, lastUseScenario, ledgerScenario];

const OPTIONS = {
  seconds: { type: 'string', default: '8' },
  rounds: { type: 'string', default: '2' },
  warmup: { type: 'string', default: '2' },
  connections: { type: 'string', default: '32' },
  'p99-connections': { type: 'string', default: '64' },
  'memory-requests': { type: 'string', default: '50000' },
  'sign-in-concurrency': { type: 'string', default: String(4 * availableParallelism()) },
  only: { type: 'string' },
  skip: { type: 'string' },
  quick: { type: 'boolean', default: false },
  out: { type: 'string', default: 'test-output/bench.json' },
  list: { type: 'boolean', default: false },
} as const;

/** `client-credentials` selects every client-credentials/… scenario. */
const matches = (names: string | undefined, scenario: Scenario) =>
  names?.split(',').some((name) => scenario.name === name.trim() || scenario.name.startsWith(`${name.trim()}/`)) ?? false;

function readOptions(values: Record<string, string | boolean | undefined>, explicit: Set<string>): SuiteOptions {
  const number = (name: string) => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
    return value;
  };
  const options: SuiteOptions = {
    seconds: number('seconds'), rounds: number('rounds'), warmupSeconds: number('warmup'), connections: number('connections'),
    p99Connections: number('p99-connections'), memoryRequests: number('memory-requests'), signInConcurrency: number('sign-in-concurrency'),
  };
  // --quick: a check that every scenario works, not figures to quote.
  if (values.quick) {
    if (!explicit.has('seconds')) options.seconds = 2;
    if (!explicit.has('warmup')) options.warmupSeconds = 1;
    if (!explicit.has('memory-requests')) options.memoryRequests = 5_000;
  }
  return options;
}

export async function main(argv: string[]): Promise<void> {
  const { values, tokens } = parseArgs({ args: argv, options: OPTIONS, tokens: true });
  const explicit = new Set(tokens.filter((t) => t.kind === 'option').map((t) => t.name));
  const selected = SCENARIOS.filter((s) => (values.only ? matches(values.only, s) : !s.isOptional) && !matches(values.skip, s));
  if (values.list) {
    process.stdout.write(`${SCENARIOS.map((s) => `${s.name.padEnd(38)} ${s.summary}${s.isOptional ? ' (only with --only)' : ''}`).join('\n')}\n`);
    return;
  }
  if (!selected.length) throw new Error(`no scenario matches --only ${values.only}; see --list`);
  const options = readOptions(values, explicit);
  const began = Date.now();
  const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
  const suite = createSuite(options, log);
  // Ctrl-C stops the servers and redis-server the suite started.
  process.once('SIGINT', () => void suite.close().finally(() => process.exit(130)));
  const failures: { scenario: string; error: string }[] = [];
  try {
    for (const scenario of selected) {
      try {
        suite.figures.push(...await scenario.run(suite));
      } catch (error) {
        log(`${scenario.name} failed: ${(error as Error).stack ?? error}`);
        failures.push({ scenario: scenario.name, error: (error as Error).message });
        suite.figures.push(figure({ scenario: scenario.name, name: 'could not run', unit: '', ours: null, baseline: null, baselineName: '',
          note: (error as Error).message.split('\n')[0]!.slice(0, 160) }));
      }
    }
  } finally {
    await suite.close();
  }
  const report = {
    at: new Date().toISOString(), node: process.version, cpus: `${availableParallelism()} × ${cpus()[0]?.model ?? '?'}`,
    memoryGb: Math.round(totalmem() / 2 ** 30), seconds: Math.round((Date.now() - began) / 1000), options,
    scenarios: selected.map((s) => s.name), figures: suite.figures, failures,
  };
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\n${formatTable(suite.figures)}\n\n${report.cpus}, ${process.version}; ${report.seconds} s; `
    + `every sample in ${values.out}\n`);
  if (failures.length) process.exitCode = 1;
}

if (import.meta.main) await main(process.argv.slice(2));
