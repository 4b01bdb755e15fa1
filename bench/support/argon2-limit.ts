// The ceiling of password sign-ins on this machine: argon2id verifications per second with the
// server's parameters (src/accounts/password-hash.ts), one worker thread per core, each hashing
// back to back. A sign-in verifies one password, so no server can sign people in faster.
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { hashPassword, verifyPassword } from '../../src/accounts/password-hash.ts';

export async function argon2HashesPerSecond(seconds: number): Promise<{ hashesPerSecond: number; threads: number }> {
  const threads = availableParallelism();
  const until = Date.now() + seconds * 1000;
  const counts = await Promise.all(Array.from({ length: threads }, () => new Promise<number>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { until } });
    worker.once('message', resolve);
    worker.once('error', reject);
  })));
  return { hashesPerSecond: Number((counts.reduce((a, b) => a + b, 0) / seconds).toFixed(1)), threads };
}

if (!isMainThread) {
  const phc = await hashPassword('bench correct horse battery');
  let count = 0;
  while (Date.now() < (workerData as { until: number }).until) {
    await verifyPassword('bench correct horse battery', phc);
    count += 1;
  }
  parentPort!.postMessage(count);
}
