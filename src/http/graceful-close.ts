import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** How long a connection may sit without a request while the server stops before it is closed. */
const IDLE_GRACE_MS = 1000;

/**
 * Stopping a server without dropping a request it accepted (issue 13 item 6). Node's own close()
 * closes every connection without a request in progress at once, including one accepted a moment
 * before whose request is still on its way, which the client sees as a reset. Instead, while
 * stopping: new connections are refused; a request in progress is answered with `Connection: close`;
 * a connection gets IDLE_GRACE_MS without a request before it is closed; at `deadline` everything is.
 */
export function trackConnections(server: Server) {
  const idleSince = new Map<Socket, number | undefined>();
  let stopping = false;
  server.on('connection', (socket: Socket) => {
    idleSince.set(socket, Date.now());
    socket.once('close', () => idleSince.delete(socket));
  });
  server.on('request', (req, res) => {
    const socket = req.socket;
    idleSince.set(socket, undefined);
    if (stopping) res.setHeader('Connection', 'close');
    res.once('finish', () => {
      if (idleSince.has(socket)) idleSince.set(socket, Date.now());
    });
  });

  /** Resolves once every connection is closed; by `graceMs` at the latest. */
  return function stop(graceMs: number): Promise<void> {
    stopping = true;
    // Node's close() would close the connections it thinks idle (see above): the sweep below does, later.
    server.closeIdleConnections = () => undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const sweep = setInterval(() => {
      const now = Date.now();
      for (const [socket, since] of idleSince) if (since !== undefined && now - since >= IDLE_GRACE_MS) socket.destroy();
    }, 100).unref();
    const deadline = setTimeout(() => server.closeAllConnections(), graceMs).unref();
    return closed.finally(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
    });
  };
}
