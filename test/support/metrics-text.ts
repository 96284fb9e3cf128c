/**
 * /metrics read back through an independent parser of Prometheus' text format
 * (parse-prometheus-text-format, ported from the Prometheus Python client's), not prom-client
 * or a regex of ours, for every gauge; only histogram counts are read with a regex (see
 * histogramCount).
 */
import parsePrometheusTextFormat, { type ParsedFamily } from "parse-prometheus-text-format";

export class Exposition {
  readonly families: ParsedFamily[];

  constructor(readonly text: string) {
    this.families = parsePrometheusTextFormat(text);
  }

  family(name: string): ParsedFamily | undefined {
    return this.families.find((f) => f.name === name);
  }

  /** The value of the one sample of `name` whose labels include `labels`; undefined if none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const samples = (this.family(name)?.metrics ?? []).filter((m) =>
      Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
    );
    if (samples.length > 1) throw new Error(`${samples.length} samples of ${name} match`);
    const v = samples[0]?.value;
    return v === undefined ? undefined : Number(v);
  }

  /**
   * A histogram's `_count` for the series whose labels include `labels` (0 when absent). Read
   * from the `_count` lines with a regex: the parser folds a histogram's labelled series into
   * one (it keeps only the last series' buckets, without labels or count).
   */
  histogramCount(name: string, labels: Record<string, string> = {}): number {
    const line = new RegExp(`^${name}_count(?:\\{([^}]*)\\})? (\\S+)$`, "gm");
    for (const m of this.text.matchAll(line)) {
      const have = Object.fromEntries(
        [...(m[1] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]),
      );
      if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[2]);
    }
    return 0;
  }

  /** Every sample of `name` as [labels, value]. */
  samples(name: string): [Record<string, string>, number][] {
    return (this.family(name)?.metrics ?? []).map((m) => [m.labels ?? {}, Number(m.value)]);
  }
}

export async function scrape(url: string, token?: string): Promise<Exposition> {
  const res = await fetch(`${url}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return new Exposition(await res.text());
}
