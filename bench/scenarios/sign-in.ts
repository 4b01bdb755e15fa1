// The full sign-in, as many times a second as the server manages: authorization request → login
// page → password (argon2id) → code → token exchange, `signInConcurrency` people at once, each
// with a new cookie jar. The baseline is not bare oidc-provider (it has no password check) but
// the argon2id limit measured in the same run, A B A B: target ≥ 0.8× of it.
import { argon2HashesPerSecond } from '../support/argon2-limit.ts';
import { interleave, mean } from '../support/load.ts';
import { figure, type Figure } from '../support/report.ts';
import { signInAndExchange } from '../support/sign-in.ts';
import type { Scenario } from '../support/suite.ts';

interface SignInRate { signInsPerSecond: number; completed: number; failed: number; p50Ms: number; p99Ms: number; firstError?: string }

async function signInsFor(seconds: number, concurrency: number, signIn: () => Promise<unknown>): Promise<SignInRate> {
  const began = performance.now();
  const until = began + seconds * 1000;
  const times: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) {
      const start = performance.now();
      try {
        await signIn();
        times.push(performance.now() - start);
      } catch (error) {
        failed += 1;
        firstError ??= (error as Error).message;
      }
    }
  }));
  const elapsed = (performance.now() - began) / 1000;
  times.sort((a, b) => a - b);
  const at = (p: number) => Math.round(times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0);
  return { signInsPerSecond: Number((times.length / elapsed).toFixed(1)), completed: times.length, failed, p50Ms: at(0.5), p99Ms: at(0.99),
    ...(firstError ? { firstError } : {}) };
}

export const signInScenario: Scenario = {
  name: 'sign-in',
  summary: 'full sign-in (authorization request → argon2id login → code → token) vs the argon2id limit',
  async run(suite): Promise<Figure[]> {
    const { seconds, rounds, warmupSeconds, signInConcurrency } = suite.options;
    const fixtures = await suite.fixtures();
    const ours = await suite.ours({ redis: false, workers: 1 });
    const signIn = () => signInAndExchange(ours.url, fixtures.web, fixtures.account, 'openid profile email message:send');
    suite.log(`sign-in: warm-up, then ${rounds} × (sign-ins, argon2id limit), ${signInConcurrency} at once`);
    await signInsFor(warmupSeconds, signInConcurrency, signIn);
    const samples = await interleave(rounds, () => signInsFor(seconds, signInConcurrency, signIn), () => argon2HashesPerSecond(seconds));
    const ourRate = Number(mean(samples.ours.map((s) => s.signInsPerSecond)).toFixed(1));
    const limit = Number(mean(samples.bare.map((s) => s.hashesPerSecond)).toFixed(1));
    const failed = samples.ours.reduce((sum, s) => sum + s.failed, 0);
    return [figure({ scenario: 'full sign-in, embedded mode', name: 'sign-ins/s', unit: '/s', ours: ourRate, baseline: limit,
      baselineName: `argon2id on ${samples.bare[0]?.threads ?? '?'} threads`, target: { kind: 'ratio-at-least', value: 0.8 },
      ...(failed ? { note: `${failed} failed: ${samples.ours.find((s) => s.firstError)?.firstError}` } : {}),
      detail: { concurrency: signInConcurrency, signIns: samples.ours, argon2: samples.bare } })];
  },
};
