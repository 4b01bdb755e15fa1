import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/logger.ts';
import { installMetricsAggregator } from '../metrics/instance-metrics.ts';
import { startPrimaryJobs } from './primary-jobs.ts';
import { superviseWorkers } from './supervise-workers.ts';
import { PORT_IN_USE_EXIT_CODE } from './worker-messages.ts';

/** Beyond the workers' own grace period: time for their stores to close and their mail to go. */
const STOP_MARGIN_MS = 5000;

/**
 * WORKERS > 1: this process serves no request. It runs the once-per-instance jobs, aggregates the
 * workers' metrics, keeps `config.workers` workers running, and on SIGTERM or SIGINT stops them
 * gracefully and exits once they all have (0 when each stopped cleanly). Resolves once a worker
 * listens; when the port is taken, rejects with EADDRINUSE after stopping everything, so that the
 * caller says it once for all the workers (src/main.ts).
 */
export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  const jobs = await startPrimaryJobs(config, logger);
  // Before the first fork: workers that serve /metrics ask the primary for the sum over all of them.
  const metrics = await installMetricsAggregator({ config, logger });
  const workers = superviseWorkers({ count: config.workers, logger });
  logger.info({ workers: config.workers, port: config.port }, `TokenIM Auth primary: ${config.workers} workers`);

  let stopping: Promise<number> | undefined;
  const stopAll = () => {
    stopping ??= (async () => {
      const code = await workers.stop(config.shutdownGraceSeconds * 1000 + STOP_MARGIN_MS);
      await metrics.close();
      await jobs.stop();
      return code;
    })();
    return stopping;
  };
  const exit = (reason: string, forcedCode?: number) => {
    logger.info({ reason }, 'stopping the workers: each finishes its in-flight requests');
    void stopAll().then((code) => process.exit(forcedCode ?? code));
  };
  process.once('SIGTERM', () => exit('SIGTERM'));
  process.once('SIGINT', () => exit('SIGINT'));

  const failure = await Promise.race([workers.listening.then(() => undefined), workers.failedToStart]);
  if (!failure) return;
  if (failure.code === PORT_IN_USE_EXIT_CODE) {
    await stopAll();
    throw Object.assign(new Error(`port ${config.port} is in use`), { code: 'EADDRINUSE' });
  }
  logger.fatal(failure, 'a worker failed to start; stopping');
  exit('a worker failed to start', 1);
}
