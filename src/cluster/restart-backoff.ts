/** A worker that ran this long before it died was healthy: its next death starts the back-off afresh. */
export const STABLE_RUN_MS = 60_000;
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 30_000;

/**
 * How long to wait before replacing a dead worker, given how many times in a row its slot's worker
 * died young before this one: 250 ms, then doubling up to 30 s, so that a worker that crashes at
 * once (a bad deployment, a store that refuses it) does not make the primary spin (systemd's
 * RestartSec with a rising delay, PM2's exp-backoff-restart-delay).
 */
export function restartDelayMs(youngDeathsBefore: number): number {
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(youngDeathsBefore, 16));
}
