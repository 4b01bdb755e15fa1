import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/logger.ts';
import { installMetricsAggregator } from '../metrics/instance-metrics.ts';
import { startPrimaryJobs } from './primary-jobs.ts';
import { superviseWorkers } from './supervise-workers.ts';

/** Beyond the workers' own grace period: time for their stores to close and their mail to go. */
const STOP_MARGIN_MS = 5000;

/**
 * WORKERS > 1: this process serves no request. It runs the once-per-instance jobs, aggregates the
 * workers' metrics, keeps `config.workers` workers running, and on SIGTERM or SIGINT stops them
 * gracefully and exits once they all have (0 when each stopped cleanly).
 */
export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  const jobs = await startPrimaryJobs(config, logger);
  // Before the first fork: workers that serve /metrics ask the primary for the sum over all of them.
  const metrics = await installMetricsAggregator({ config, logger });
  const workers = superviseWorkers({ count: config.workers, logger });
  logger.info({ workers: config.workers, port: config.port }, `TokenIM Auth primary: ${config.workers} workers`);

  let exiting: Promise<void> | undefined;
  const exit = (reason: string, forcedCode?: number) => {
    exiting ??= (async () => {
      logger.info({ reason }, 'stopping the workers: each finishes its in-flight requests');
      const code = await workers.stop(config.shutdownGraceSeconds * 1000 + STOP_MARGIN_MS);
      await metrics.close();
      await jobs.stop();
      process.exit(forcedCode ?? code);
    })();
  };
  process.once('SIGTERM', () => exit('SIGTERM'));
  process.once('SIGINT', () => exit('SIGINT'));
  void workers.failedToStart.then(() => exit('a worker failed to start', 1));
}
