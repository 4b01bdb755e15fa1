// One figure per line: ours, the baseline measured in the same run, their ratio and the issue's
// target next to it. Targets are printed, never enforced: the bench does not fail a build.

/**
 * ≥ a ratio (throughput), ≤ a ratio (memory), a ratio within ±value of 1 (two setups that should
 * not differ), or below an absolute value (latency).
 */
export type Target =
  | { kind: 'ratio-at-least'; value: number }
  | { kind: 'ratio-at-most'; value: number }
  | { kind: 'ratio-within'; value: number }
  | { kind: 'below'; value: number };

function isMet(target: Target, ours: number, ratio: number | null): boolean | null {
  if (target.kind === 'below') return ours < target.value;
  if (ratio === null) return null;
  if (target.kind === 'ratio-within') return Math.abs(ratio - 1) <= target.value;
  return target.kind === 'ratio-at-least' ? ratio >= target.value : ratio <= target.value;
}

export interface Figure {
  scenario: string;
  name: string;
  unit: string;
  ours: number | null;
  baseline: number | null;
  /** What the baseline is: bare oidc-provider, or the argon2id limit. */
  baselineName: string;
  /** ours / baseline */
  ratio: number | null;
  target: Target | null;
  /** Whether the target holds; null without a target or a figure. */
  met: boolean | null;
  /** Why a figure is missing or suspect (errors, not available). */
  note?: string;
  /** Errors or non-2xx answers in the load: the target is not judged. */
  isSuspect?: boolean;
  /** Samples and secondary figures, for the JSON only. */
  detail?: unknown;
}

export function figure(fields: Omit<Figure, 'ratio' | 'met' | 'target'> & { target?: Target | null }): Figure {
  const { ours, baseline } = fields;
  const target = fields.target ?? null;
  // Three decimals: a ±3 % target is judged on the ratio shown.
  const ratio = ours !== null && baseline ? Number((ours / baseline).toFixed(3)) : null;
  const met = target && ours !== null && !fields.isSuspect ? isMet(target, ours, ratio) : null;
  return { ...fields, target, ratio, met };
}

const describeTarget = (target: Target | null, unit: string) => {
  if (!target) return '—';
  if (target.kind === 'below') return `< ${target.value} ${unit}`;
  if (target.kind === 'ratio-within') return `1 ± ${target.value}×`;
  return `${target.kind === 'ratio-at-least' ? '≥' : '≤'} ${target.value}×`;
};

const amount = (value: number | null, unit: string) => (value === null ? '—' : `${value.toLocaleString('en')} ${unit}`);

export function formatTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    `${f.scenario}: ${f.name}`,
    amount(f.ours, f.unit),
    f.baseline === null ? '—' : `${amount(f.baseline, f.unit)} (${f.baselineName})`,
    f.ratio === null ? '—' : `${f.ratio}×`,
    describeTarget(f.target, f.unit),
    f.isSuspect ? 'suspect' : f.met === null ? '' : f.met ? 'met' : 'NOT met',
    f.note ?? '',
  ]);
  const header = ['figure', 'ours', 'baseline (same run)', 'ratio', 'target', '', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
