// The benches of earlier issues, run as they are (their own baselines, their own processes) and
// summed up in the table: last-use tracking on vs off (issue 10, target within 3 %) and the
// ledger on SQLite (issue 11, target p95 under 200 ms on 1,000,000 records).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { figure, type Figure } from '../support/report.ts';
import type { Scenario } from '../support/suite.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Their JSON report; they exit 1 when their target is missed, which is a figure here, not a failure. */
async function runBench(script: string, args: string[]): Promise<Record<string, unknown>> {
  const result = await run(process.execPath, [script, ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 })
    .catch((error: { stdout?: string; stderr?: string; message: string }) => {
      if (error.stdout?.trim().startsWith('{')) return { stdout: error.stdout };
      throw new Error(`${script}: ${error.stderr || error.message}`);
    });
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

export const lastUseScenario: Scenario = {
  name: 'last-use',
  summary: 'bench/last-use-tracking.ts: token throughput with secret last-use tracking on vs off',
  async run(suite): Promise<Figure[]> {
    const { seconds, rounds, connections } = suite.options;
    suite.log('last-use tracking: bench/last-use-tracking.ts');
    // Two setups that should not differ: many short alternated rounds, as one slow round on this
    // shared machine moves a mean of two by more than the ±3 % judged.
    const report = await runBench('bench/last-use-tracking.ts',
      ['--seconds', String(Math.min(seconds, 5)), '--rounds', String(Math.max(rounds, 8)), '--connections', String(connections)]);
    const rps = report.requestsPerSecond as { meanOn: number; meanOff: number };
    return [figure({ scenario: 'last-use tracking (issue 10)', name: 'tokens/s, tracking on', unit: '/s', ours: rps.meanOn,
      baseline: rps.meanOff, baselineName: 'tracking off', target: { kind: 'ratio-within', value: 0.03 }, detail: report })];
  },
};

export const ledgerScenario: Scenario = {
  name: 'ledger',
  summary: 'bench/ledger.ts: ledger appends/s and filtered queries on 1,000,000 records (about 80 s)',
  isOptional: true,
  async run(suite): Promise<Figure[]> {
    suite.log('ledger: bench/ledger.ts (fills 1,000,000 records)');
    const report = await runBench('bench/ledger.ts', []);
    const appends = report.appends as { design: string; processes: number; appendsPerSecond: number }[];
    const perAppend = (processes: number) => appends.find((a) => a.design === 'per-append' && a.processes === processes)?.appendsPerSecond ?? null;
    const queries = report.queries as { query: string; p95Ms: number }[];
    const baseline = queries.find((q) => q.query.startsWith('baseline'))?.p95Ms ?? null;
    const slowest = Math.max(...queries.map((q) => q.p95Ms));
    const scenario = 'ledger on SQLite (issue 11)';
    return [
      figure({ scenario, name: 'appends/s, 2 processes', unit: '/s', ours: perAppend(2), baseline: perAppend(1), baselineName: '1 process' }),
      figure({ scenario, name: `slowest filtered query p95, ${Number(report.records).toLocaleString('en')} records`, unit: 'ms', ours: slowest,
        baseline, baselineName: 'newest page, unfiltered', target: { kind: 'below', value: 200 }, detail: report }),
    ];
  },
};
