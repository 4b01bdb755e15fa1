// First: on Node.js before 24 one line instead of a stack (see the file).
import '../bin/require-node-24.js';
import { loadConfig, loadOrExit, ConfigError } from './config/load-config.ts';
import { createLogger } from './shared/logger.ts';
import type { RunningServer } from './server.ts';
import cluster from 'node:cluster';
import { isStopMessage, PORT_IN_USE_EXIT_CODE } from './cluster/worker-messages.ts';

// Process entry: load config → open stores → build services → createApp → listen (src/server.ts).
const config = loadOrExit('tokenim-auth', () => loadConfig());

const logger = createLogger(config.logLevel);
if (cluster.isPrimary && config.workers > 1) {
  // The primary forks workers that run this file again (src/cluster/primary.ts). Each side loads
  // only its own modules: the primary serves no request and needs neither Koa nor oidc-provider.
  const { runPrimary } = await import('./cluster/primary.ts');
  await runPrimary(config, logger).catch((error: unknown) => exitOnStartFailure(error));
} else {
  await serve();
}

/** One process serving requests: alone (WORKERS=1), or a cluster worker. */
async function serve() {
  let running: RunningServer | undefined;
  let stopSignal: string | undefined;
  const shutdown = (signal: string) => {
    stopSignal ??= signal;
    if (!running) return;
    logger.info({ signal }, 'shutting down: readiness fails, in-flight requests finish, stores close');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  // A worker is stopped by its primary (src/cluster/worker-messages.ts).
  process.on('message', (message) => { if (isStopMessage(message)) shutdown('stop from the primary'); });
  try {
    // The cluster primary runs the once-per-instance jobs; a single process runs them itself.
    const { startServer } = await import('./server.ts');
    running = await startServer(config, logger, { runsInstanceJobs: cluster.isPrimary });
  } catch (error) {
    exitOnStartFailure(error);
  }
  logger.info({ issuer: config.issuer, port: config.port, storage: {
    durable: config.mongodbUri ? 'mongodb' : 'sqlite', shortLived: config.redisUrl ? 'redis' : config.mongodbUri ? 'mongodb' : 'sqlite',
  } }, `TokenIM Auth listening; discovery at ${config.issuer}/.well-known/openid-configuration`);
  // A stop asked for while starting up happens now.
  if (stopSignal) shutdown(stopSignal);
}

function exitOnStartFailure(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`tokenim-auth: configuration error: ${error.message}\n`);
  } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    // A worker leaves the telling to its primary, which says it once for all of them.
    if (cluster.isWorker) process.exit(PORT_IN_USE_EXIT_CODE);
    // A mistake in the setup, not a crash: one line that says what to change.
    process.stderr.write(`tokenim-auth: port ${config.port} is in use; set PORT to another\n`);
  } else {
    logger.fatal({ err: error }, `start-up failed: ${(error as Error).message}`);
  }
  process.exit(1);
}
