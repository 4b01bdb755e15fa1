import { describe, expect, it } from '@jest/globals';
import { availableParallelism } from 'node:os';
import { loadConfig } from '../../src/config/load-config.ts';
import { resolveWorkerCount } from '../../src/config/worker-count.ts';
import { restartDelayMs } from '../../src/cluster/restart-backoff.ts';

const PRODUCTION = { NODE_ENV: 'production', ISSUER: 'https://id.example.com', SECRET_KEY: 'k'.repeat(32), SMTP_URL: 'smtp://mail.example.com' };

describe('WORKERS', () => {
  it('defaults to the CPU count with NODE_ENV=production, to 1 otherwise', () => {
    expect(resolveWorkerCount('auto', 'production', 8)).toBe(8);
    expect(resolveWorkerCount('auto', 'development', 8)).toBe(1);
    expect(resolveWorkerCount('auto', 'test', 8)).toBe(1);
    expect(loadConfig(PRODUCTION).workers).toBe(availableParallelism());
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ NODE_ENV: 'test' }).workers).toBe(1);
  });

  it('a number is taken as it is, in any environment; auto asks for the default', () => {
    expect(loadConfig({ WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig({ ...PRODUCTION, WORKERS: '1' }).workers).toBe(1);
    expect(loadConfig({ ...PRODUCTION, WORKERS: 'auto' }).workers).toBe(availableParallelism());
  });

  it.each(['0', '-1', '1.5', 'two', '257'])('WORKERS=%s stops start-up with one line naming it', (raw) => {
    expect(() => loadConfig({ WORKERS: raw })).toThrow(`WORKERS: must be a whole number from 1 to 256, or auto (got "${raw}")`);
  });
});

describe('restarting a worker that died', () => {
  it('waits 250 ms, doubling while its workers keep dying young, up to 30 s', () => {
    expect([0, 1, 2, 3, 7, 20].map(restartDelayMs)).toEqual([250, 500, 1000, 2000, 30_000, 30_000]);
  });
});
