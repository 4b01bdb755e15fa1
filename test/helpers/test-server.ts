import { pino } from 'pino';
import { loadConfig } from '../../src/config/load-config.ts';
import type { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { freePort } from './free-port.ts';
import { makeTempDir } from './temp-dir.ts';

export interface TestServer extends RunningServer {
  issuer: string;
  dataDir: string;
  close(): Promise<void>;
}

/** A real server on a free 127.0.0.1 port with its own DATA_DIR; Redis mode when redisUrl is given. */
export async function startTestServer(options: {
  redisUrl?: string;
  redisKeyPrefix?: string;
  env?: Record<string, string>;
  /** Every log line at `level`, written to `file` (silent otherwise). */
  log?: { file: string; level: string };
  /** Adjusts the loaded configuration (settings that have no environment variable). */
  configure?: (config: Config) => Config;
} = {}): Promise<TestServer> {
  const tmp = makeTempDir('server');
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    PORT: String(port), ISSUER: issuer, DATA_DIR: tmp.path, LOG_LEVEL: 'silent',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...options.env,
  });
  const configured = options.configure ? options.configure(config) : config;
  const running = await startServer(
    { ...configured, redisKeyPrefix: options.redisKeyPrefix ?? config.redisKeyPrefix },
    options.log ? createLogger(options.log.level, pino.destination({ dest: options.log.file, sync: true })) : createLogger('silent'),
    { host: '127.0.0.1' },
  );
  return {
    ...running,
    issuer,
    dataDir: tmp.path,
    async close() {
      await running.stop();
      tmp.remove();
    },
  };
}
