import { availableParallelism } from 'node:os';

export const MAX_WORKERS = 256;

/**
 * How many processes serve requests. "auto": one per CPU this process may use in production (Node's
 * event loop runs JavaScript on one core, so a single process leaves the others idle), and 1 in
 * development and tests, where one process is easier to debug and starts faster.
 */
export function resolveWorkerCount(setting: 'auto' | number, nodeEnv: 'development' | 'production' | 'test',
  cpuCount: number = availableParallelism()): number {
  if (setting !== 'auto') return setting;
  return nodeEnv === 'production' ? Math.min(Math.max(1, cpuCount), MAX_WORKERS) : 1;
}

/** WORKERS: a whole number from 1, or "auto"; undefined for anything else. */
export function parseWorkersSetting(raw: string): 'auto' | number | undefined {
  if (raw.toLowerCase() === 'auto') return 'auto';
  if (!/^\d+$/.test(raw)) return undefined;
  const count = Number(raw);
  return count >= 1 && count <= MAX_WORKERS ? count : undefined;
}
