import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/logger.ts';
import { registry } from './instruments.ts';
import { metricsAccess } from './metrics-access.ts';
import { startMetricsServer } from './metrics-endpoint.ts';

// Cluster IPC between a worker serving /metrics and the primary that aggregates every worker's.
const ASK = 'tokenim:metrics-ask';
const ANSWER = 'tokenim:metrics-answer';
// prom-client's primary gives up on a silent worker after 5 s; a little longer here so that its
// error, which names the cause, is the one that arrives.
const ASK_TIMEOUT_MS = 6000;

interface Ask { type: typeof ASK; id: number }
interface Answer { type: typeof ANSWER; id: number; text?: string; error?: string }

const isMessage = <T extends { type: string }>(message: unknown, type: T['type']): message is T =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;

let isInstalled = false;

/**
 * Once per process, before it serves: Node's process metrics (prom-client's defaults: CPU, memory,
 * event-loop lag, GC, handles) in our registry, and in a cluster worker the listener through which
 * the primary collects this worker's series (prom-client's cluster protocol).
 */
export function installProcessMetrics(): void {
  if (isInstalled) return;
  isInstalled = true;
  collectDefaultMetrics({ register: registry });
  if (cluster.isWorker) {
    AggregatorRegistry.setRegistries([registry]);
    // Constructing one is what makes prom-client answer the primary's requests in a worker.
    new AggregatorRegistry();
  }
}

const waiting = new Map<number, { resolve(text: string): void; reject(error: Error): void; timer: NodeJS.Timeout }>();
let nextAsk = 0;

function onAnswer(message: unknown): void {
  if (!isMessage<Answer>(message, ANSWER)) return;
  const ask = waiting.get(message.id);
  if (!ask) return;
  waiting.delete(message.id);
  clearTimeout(ask.timer);
  if (message.text !== undefined) ask.resolve(message.text);
  else ask.reject(new Error(message.error ?? 'the primary sent no metrics'));
}

function askPrimary(): Promise<string> {
  if (nextAsk === 0) process.on('message', onAnswer);
  const id = ++nextAsk;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error(`the cluster primary did not answer within ${ASK_TIMEOUT_MS} ms (does it call installMetricsAggregator?)`));
    }, ASK_TIMEOUT_MS);
    waiting.set(id, { resolve, reject, timer });
    process.send!({ type: ASK, id } satisfies Ask);
  });
}

/**
 * The whole instance's metrics in Prometheus text format: this process's in a single process; in
 * a cluster worker, every worker's added up by the primary (one scrape = the instance, whichever
 * worker the scrape lands on).
 */
export const collectInstanceMetrics = (): Promise<string> => (cluster.isWorker ? askPrimary() : registry.metrics());

export interface MetricsAggregator {
  /** The aggregate of every live worker's series (counters and histograms summed). */
  collect(): Promise<string>;
  /** Where METRICS_PORT is served, when it is. */
  url: string | undefined;
  close(): Promise<void>;
}

/**
 * For the cluster primary, once, before it forks: answers workers that serve /metrics with the sum
 * over all workers (prom-client's AggregatorRegistry), and with METRICS_PORT serves that sum itself
 * on that port (the workers then serve no /metrics). The primary serves no request, so its own
 * process metrics are not part of the sum.
 */
export async function installMetricsAggregator(options: { config: Pick<Config, 'metrics' | 'metricsToken'>; logger: Logger;
  host?: string }): Promise<MetricsAggregator> {
  const aggregator = new AggregatorRegistry();
  const collect = () => aggregator.clusterMetrics();
  const onAsk = (worker: Worker, message: unknown) => {
    if (!isMessage<Ask>(message, ASK)) return;
    const reply = (answer: Omit<Answer, 'type' | 'id'>) => {
      if (worker.isConnected()) worker.send({ type: ANSWER, id: message.id, ...answer } satisfies Answer);
    };
    collect().then((text) => reply({ text }), (error: unknown) => reply({ error: (error as Error).message }));
  };
  cluster.on('message', onAsk);
  const { port } = options.config.metrics;
  const server = port === null ? undefined
    : await startMetricsServer({ port, host: options.host, access: metricsAccess(options.config), collect, logger: options.logger });
  return {
    collect,
    url: server && `http://${options.host ?? '127.0.0.1'}:${port}/metrics`,
    async close() {
      cluster.off('message', onAsk);
      if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
