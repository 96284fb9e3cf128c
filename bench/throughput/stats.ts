/** Summaries over rounds. */

export interface Spread {
  min: number;
  median: number;
  max: number;
}

function sorted(values: readonly number[]): number[] {
  return values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
}

/** Nearest-rank percentile (p in 0..100) of the values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  const s = sorted(values);
  if (!s.length) return Number.NaN;
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1] as number;
}

export function median(values: readonly number[]): number {
  const s = sorted(values);
  if (!s.length) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function spread(values: readonly number[]): Spread {
  const s = sorted(values);
  return {
    min: s[0] ?? Number.NaN,
    median: median(s),
    max: s[s.length - 1] ?? Number.NaN,
  };
}
