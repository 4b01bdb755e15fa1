// Resident memory (RSS) of ours (embedded mode, one process) and bare oidc-provider, both freshly
// started: idle (target ≤ 1.3×), then after the same number of client-credentials token requests
// (50,000 by default; target ≤ 1.2×). RSS is what the operator pays for, heap included.
import { setTimeout as sleep } from 'node:timers/promises';
import { hammer, problems } from '../support/load.ts';
import { hasProcFs, treeRssMb } from '../support/process-stats.ts';
import { figure, type Figure } from '../support/report.ts';
import type { Scenario } from '../support/suite.ts';
import { tokenRequest } from './client-credentials.ts';

// After readiness, start-up garbage and lazy first-request work settle before the idle reading.
const SETTLE_MS = 2_000;

export const memoryScenario: Scenario = {
  name: 'memory',
  summary: 'RSS idle and after 50k token requests, ours (embedded, 1 process) vs bare',
  async run(suite): Promise<Figure[]> {
    const scenario = 'memory (RSS)';
    if (!hasProcFs()) {
      return [figure({ scenario, name: 'idle', unit: 'MB', ours: null, baseline: null, baselineName: 'bare', note: 'needs /proc (Linux)' })];
    }
    const { memoryRequests, connections } = suite.options;
    const fixtures = await suite.fixtures();
    const ours = await suite.ours({ redis: false, workers: 1, fresh: true });
    const bare = await suite.bare(true);
    await sleep(SETTLE_MS);
    const idle = { ours: treeRssMb(ours.pid), bare: treeRssMb(bare.pid) };
    suite.log(`memory: idle ours ${idle.ours} MB, bare ${idle.bare} MB; ${memoryRequests} token requests each`);
    const loadOurs = await hammer(ours, tokenRequest(fixtures.service), { amount: memoryRequests, connections });
    const loaded = { ours: treeRssMb(ours.pid), bare: 0 };
    const loadBare = await hammer(bare, tokenRequest(bare.service), { amount: memoryRequests, connections });
    loaded.bare = treeRssMb(bare.pid);
    return [
      figure({ scenario, name: 'idle', unit: 'MB', ours: idle.ours, baseline: idle.bare, baselineName: 'bare',
        target: { kind: 'ratio-at-most', value: 1.3 } }),
      figure({ scenario, name: `after ${memoryRequests.toLocaleString('en')} token requests`, unit: 'MB', ours: loaded.ours,
        baseline: loaded.bare, baselineName: 'bare', target: { kind: 'ratio-at-most', value: 1.2 }, ...problems(loadOurs, loadBare),
        detail: { ours: loadOurs, bare: loadBare } }),
    ];
  },
};
