// First: on Node.js before 24 one line instead of a stack (see the file).
import '../bin/require-node-24.js';
import { loadConfig, loadOrExit, ConfigError } from './config/load-config.ts';
import { createLogger } from './shared/logger.ts';
import { startServer } from './server.ts';

// Process entry: load config → open stores → build services → createApp → listen (src/server.ts).
const config = loadOrExit('tokenim-auth', () => loadConfig());

const logger = createLogger(config.logLevel);
try {
  const running = await startServer(config, logger);
  logger.info({ issuer: config.issuer, port: config.port, storage: {
    durable: config.mongodbUri ? 'mongodb' : 'sqlite', shortLived: config.redisUrl ? 'redis' : config.mongodbUri ? 'mongodb' : 'sqlite',
  } }, `TokenIM Auth listening; discovery at ${config.issuer}/.well-known/openid-configuration`);

  const shutdown = (signal: string) => {
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
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`tokenim-auth: configuration error: ${error.message}\n`);
  } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    // A mistake in the setup, not a crash: one line that says what to change.
    process.stderr.write(`tokenim-auth: port ${config.port} is in use; set PORT to another\n`);
  } else {
    logger.fatal({ err: error }, `start-up failed: ${(error as Error).message}`);
  }
  process.exit(1);
}
