// REDIS_URL forms (ioredis speaks all three; only the single-server form is a URL it parses itself):
//   redis://[:password@]host:6379[/db]   rediss://… for TLS            one server
//   redis-sentinel://[:password@]host1:26379,host2:26379[/db]?name=mymaster[&tls=true]
//                                        the master Sentinel names, followed across failovers
//   redis-cluster://[:password@]host1:6379,host2:6379[?tls=true]   Redis Cluster (seed nodes)
// The stores use one-key commands and scripts only (src/storage/redis/redis-artifacts.ts), so in a
// cluster no command needs keys of two slots.

export interface ParsedUrl {
  kind: 'server' | 'sentinel' | 'cluster';
  nodes: { host: string; port: number }[];
  password: string | undefined;
  username: string | undefined;
  db: number | undefined;
  name: string | undefined;
  tls: boolean;
}

/** Reads a REDIS_URL; throws an Error saying what is wrong with it. */
export function parseRedisUrl(url: string): ParsedUrl {
  const match = /^(redis|rediss|redis-sentinel|redis-cluster):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?]+)(?:\/(\d+))?\/?(?:\?(.*))?$/.exec(url);
  if (!match) throw new Error('REDIS_URL must look like redis://host:6379, redis-sentinel://host:26379?name=mymaster or redis-cluster://host:6379');
  const [, scheme, user, password, hosts, db, query] = match;
  const params = new URLSearchParams(query ?? '');
  const defaultPort = scheme === 'redis-sentinel' ? 26379 : 6379;
  const nodes = hosts!.split(',').map((hostPort) => {
    const [host, port] = hostPort.split(':');
    if (!host || (port !== undefined && !/^\d+$/.test(port))) throw new Error(`REDIS_URL: "${hostPort}" is not host:port`);
    return { host, port: port === undefined ? defaultPort : Number(port) };
  });
  const kind = scheme === 'redis-sentinel' ? 'sentinel' : scheme === 'redis-cluster' ? 'cluster' : 'server';
  const name = params.get('name') ?? undefined;
  if (kind === 'sentinel' && !name) throw new Error('REDIS_URL: a redis-sentinel:// URL names the master: ?name=mymaster');
  if (kind === 'server' && nodes.length > 1) throw new Error('REDIS_URL: several hosts need redis-sentinel:// or redis-cluster://');
  return {
    kind, nodes, name, tls: scheme === 'rediss' || params.get('tls') === 'true',
    password: password ? decodeURIComponent(password) : undefined, username: user ? decodeURIComponent(user) : undefined,
    db: db === undefined ? undefined : Number(db),
  };
}
