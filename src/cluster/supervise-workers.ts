import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../shared/logger.ts';
import { restartDelayMs, STABLE_RUN_MS } from './restart-backoff.ts';
import { STOP_MESSAGE } from './worker-messages.ts';

export interface WorkerSupervisor {
  /**
   * Asks every worker to stop gracefully (each drains its in-flight requests) and resolves with
   * the exit code the primary should end with, once every worker has exited; a worker still
   * running after `graceMs` is killed.
   */
  stop(graceMs: number): Promise<number>;
  /** Resolves when the first worker listens. */
  listening: Promise<void>;
  /**
   * Resolves, with how that worker ended, when a worker exits before any has listened (a start-up
   * failure, which a restart would not fix): the primary gives up.
   */
  failedToStart: Promise<WorkerExit>;
}

/** How a worker process ended (node:cluster's 'exit' event). */
export interface WorkerExit {
  workerPid: number | undefined;
  code: number;
  signal: string;
}

interface Slot {
  worker: Worker | undefined;
  startedAt: number;
  youngDeaths: number;
  restart: NodeJS.Timeout | undefined;
}

/**
 * Forks `count` workers (each runs this program again, and serves on the port the primary shares
 * with them) and replaces each that dies, after a delay that grows while they keep dying young.
 */
export function superviseWorkers(options: { count: number; logger: Logger }): WorkerSupervisor {
  const { logger } = options;
  const slots: Slot[] = Array.from({ length: options.count }, () => ({ worker: undefined, startedAt: 0, youngDeaths: 0, restart: undefined }));
  let isStopping = false;
  let hasListened = false;
  let isFailed = false;
  let exitCode = 0;
  let allExited: () => void = () => {};
  let failed: (exit: WorkerExit) => void = () => {};
  const failedToStart = new Promise<WorkerExit>((resolve) => { failed = resolve; });
  let listened: () => void = () => {};
  const listening = new Promise<void>((resolve) => { listened = resolve; });

  const fork = (slot: Slot) => {
    slot.restart = undefined;
    slot.startedAt = Date.now();
    slot.worker = cluster.fork();
  };
  const liveWorkers = () => slots.filter((slot) => slot.worker !== undefined).length;

  cluster.on('listening', (worker) => {
    hasListened = true;
    listened();
    logger.debug({ workerPid: worker.process.pid }, 'worker listening');
  });
  cluster.on('exit', (worker, code, signal) => {
    const slot = slots.find((s) => s.worker === worker);
    if (!slot) return;
    slot.worker = undefined;
    if (isStopping || isFailed) {
      // The stop's outcome: a worker that died earlier and was replaced is not a failed stop.
      if (code !== 0) exitCode = 1;
      if (liveWorkers() === 0) allExited();
      return;
    }
    if (!hasListened) {
      // Not one worker came up: a setting or the port is wrong, and restarting would not fix it.
      // The primary says so (src/cluster/primary.ts); the worker has logged why, or exited with
      // a code that tells it (src/cluster/worker-messages.ts).
      isFailed = true;
      failed({ workerPid: worker.process.pid, code, signal });
      return;
    }
    const diedYoung = Date.now() - slot.startedAt < STABLE_RUN_MS;
    const delayMs = restartDelayMs(diedYoung ? slot.youngDeaths : 0);
    slot.youngDeaths = diedYoung ? slot.youngDeaths + 1 : 0;
    logger.error({ workerPid: worker.process.pid, code, signal, restartInMs: delayMs }, 'a worker exited; starting another');
    slot.restart = setTimeout(() => fork(slot), delayMs);
  });

  slots.forEach(fork);

  return {
    listening,
    failedToStart,
    stop(graceMs) {
      isStopping = true;
      for (const slot of slots) clearTimeout(slot.restart);
      return new Promise<number>((resolve) => {
        const kill = setTimeout(() => {
          for (const slot of slots) {
            if (!slot.worker) continue;
            logger.warn({ workerPid: slot.worker.process.pid }, 'a worker did not stop within the grace period; killed');
            slot.worker.process.kill('SIGKILL');
          }
        }, graceMs).unref();
        allExited = () => {
          clearTimeout(kill);
          resolve(exitCode);
        };
        if (liveWorkers() === 0) {
          allExited();
          return;
        }
        for (const slot of slots) {
          if (slot.worker?.isConnected()) slot.worker.send(STOP_MESSAGE);
          // A worker still starting up has no channel open for messages yet: a signal then.
          else slot.worker?.process.kill('SIGTERM');
        }
      });
    },
  };
}
