import { loadConfig } from '../../src/config/load-config.ts';
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
export async function startTestServer(options: { redisUrl?: string; redisKeyPrefix?: string; env?: Record<string, string> } = {}): Promise<TestServer> {
  const tmp = makeTempDir('server');
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    PORT: String(port), ISSUER: issuer, DATA_DIR: tmp.path, LOG_LEVEL: 'silent',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...options.env,
  });
  const running = await startServer(
    { ...config, redisKeyPrefix: options.redisKeyPrefix ?? config.redisKeyPrefix },
    createLogger('silent'),
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
