// What the primary tells a worker over the cluster IPC channel. A message, not a signal: a Ctrl-C in
// a terminal already sends SIGINT to every process of the group, and a second signal would kill
// a worker that is still draining its requests.

export const STOP_MESSAGE = { type: 'tokenim:stop' } as const;

export const isStopMessage = (message: unknown): boolean =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === STOP_MESSAGE.type;

/**
 * A worker's exit code when the port is taken: the primary, not each worker, then tells the
 * person so, once (src/main.ts says it). 78 is EX_CONFIG of sysexits.h: a setting to change.
 */
export const PORT_IN_USE_EXIT_CODE = 78;
