// What every scenario shares: the options, one bare oidc-provider, one of our servers at a time
// (a scenario asks for the mode it needs; two would compete for the same two cores), the
// applications registered once, and a private redis-server for Redis mode.
import { startTestRedis, type TestRedis } from '../../test/helpers/redis-server.ts';
import { makeTempDir } from '../../test/helpers/temp-dir.ts';
import type { Figure } from './report.ts';
import { registerOurFixtures, startBare, startOurs, type BareServer, type OurFixtures, type OurServer } from './servers.ts';

export interface SuiteOptions {
  /** Length of one measured sample, in seconds. */
  seconds: number;
  /** A B pairs per comparison. */
  rounds: number;
  /** Unmeasured load on both servers before the first sample. */
  warmupSeconds: number;
  connections: number;
  /** The connections of the p99 figure (the 64). */
  p99Connections: number;
  /** Token requests before the second memory reading (the 50,000). */
  memoryRequests: number;
  /** Sign-ins in flight at once (the server hashes on its libuv pool). */
  signInConcurrency: number;
}

export interface Suite {
  options: SuiteOptions;
  /** The figures of the scenarios run so far (a later one may compare with an earlier one). */
  figures: Figure[];
  fixtures(): Promise<OurFixtures>;
  /** The shared bare server; `fresh` starts a new one (for idle memory). */
  bare(fresh?: boolean): Promise<BareServer>;
  /** Ours in this mode, stopping the one running in another mode; `fresh` always starts anew. */
  ours(mode: { redis: boolean; workers: number; fresh?: boolean }): Promise<OurServer>;
  log(message: string): void;
  close(): Promise<void>;
}

/** One part of the suite: its figures, each against a baseline measured in the same run. */
export interface Scenario {
  name: string;
  summary: string;
  /** Left out unless named with --only (it takes long and has its own baseline). */
  isOptional?: boolean;
  run(suite: Suite): Promise<Figure[]>;
}

export function createSuite(options: SuiteOptions, log: (message: string) => void): Suite {
  const dir = makeTempDir('tokenim-bench');
  let fixtures: Promise<OurFixtures> | undefined;
  let redis: Promise<TestRedis | undefined> | undefined;
  let bare: BareServer | undefined;
  let ours: OurServer | undefined;
  let oursKey = '';

  const redisUrl = async () => {
    redis ??= startTestRedis();
    const started = await redis;
    if (!started) throw new Error('Redis mode needs redis-server on the PATH or REDIS_URL');
    return started.url;
  };

  return {
    options,
    log,
    figures: [],
    fixtures() {
      fixtures ??= registerOurFixtures(dir.path);
      return fixtures;
    },
    async bare(fresh = false) {
      if (bare && fresh) {
        await bare.stop();
        bare = undefined;
      }
      bare ??= await startBare();
      return bare;
    },
    async ours({ redis: inRedis, workers, fresh = false }) {
      const mode = inRedis ? 'redis' : 'embedded';
      const key = `${mode} ${workers}`;
      if (ours && !fresh && oursKey === key) return ours;
      await ours?.stop();
      ours = undefined;
      log(`starting ours: ${mode} mode, WORKERS=${workers}`);
      ours = await startOurs(await this.fixtures(), { workers, ...(inRedis ? { redisUrl: await redisUrl() } : {}) });
      oursKey = key;
      return ours;
    },
    async close() {
      await Promise.allSettled([ours?.stop(), bare?.stop()]);
      await (await redis)?.stop();
      dir.remove();
    },
  };
}
