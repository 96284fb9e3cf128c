/** The benchmark's output: a table per kind (min/median/max over rounds) or one JSON object. */
import type { Throughput } from "./context.js";
import type { ConveneResult } from "./convene.js";
import type { Kind } from "./event.js";
import { median, percentile, type Spread, spread } from "./stats.js";

export interface RoundResult {
  /** Absent when left out with --without. */
  ceiling?: Throughput;
  naive?: Throughput;
  convene: ConveneResult;
}

export interface KindResult {
  kind: Kind;
  n: number;
  rounds: RoundResult[];
}

const ratio = (a: number, b: number | undefined) => (b === undefined ? Number.NaN : a / b);
const kb = (bytes: number | undefined) => (bytes ?? Number.NaN) / 1024;
const round2 = (v: number) => Math.round(v * 100) / 100;
const round3 = (v: number) => Math.round(v * 1000) / 1000;

function column(rounds: RoundResult[], pick: (r: RoundResult) => number | undefined): number[] {
  return rounds.map((r) => pick(r) ?? Number.NaN);
}

/** The issue's object: medians over the rounds; lateness percentiles over the rounds' firsts. */
export function summaryObject(k: KindResult) {
  const r = k.rounds;
  const med = (pick: (x: RoundResult) => number | undefined) => round2(median(column(r, pick)));
  const lateness = column(r, (x) => x.convene.latenessMs);
  return {
    n: k.n,
    kind: k.kind,
    ceiling_mps: med((x) => x.ceiling?.mps),
    naive_mps: med((x) => x.naive?.mps),
    convene_mps: med((x) => x.convene.mps),
    ratio_to_ceiling: round3(median(column(r, (x) => ratio(x.convene.mps, x.ceiling?.mps)))),
    ratio_to_naive: med((x) => ratio(x.convene.mps, x.naive?.mps)),
    cpu_ms_per_msg: med((x) => x.convene.cpuMsPerMsg),
    redis_cmds_per_send: med((x) => x.convene.redisCmdsPerSend),
    redis_bytes_per_send: med((x) => x.convene.redisBytesPerSend),
    worker_peak_rss_mb: med((x) => x.convene.peakRssMb),
    tick_ms: med((x) => x.convene.tickMs),
    lateness_p50_ms: round2(percentile(lateness, 50)),
    lateness_p99_ms: round2(percentile(lateness, 99)),
  };
}

/** A figure of a measurement left out is NaN: no value in the table, null in the JSON. */
const ROWS: [string, (r: RoundResult) => number | undefined, number][] = [
  ["ceiling msg/s (pre-built, pooled)", (r) => r.ceiling?.mps, 1],
  ["naive msg/s (MJML + ICS + MIME per message)", (r) => r.naive?.mps, 1],
  ["convene msg/s", (r) => r.convene.mps, 1],
  ["convene ÷ ceiling", (r) => ratio(r.convene.mps, r.ceiling?.mps), 3],
  ["convene ÷ naive", (r) => ratio(r.convene.mps, r.naive?.mps), 2],
  ["CPU ms per message: ceiling", (r) => r.ceiling?.cpuMsPerMsg, 2],
  ["CPU ms per message: naive", (r) => r.naive?.cpuMsPerMsg, 2],
  ["CPU ms per message: convene worker", (r) => r.convene.cpuMsPerMsg, 2],
  ["message KB: ceiling (convene's own)", (r) => kb(r.ceiling?.bytesPerMsg), 1],
  ["message KB: naive", (r) => kb(r.naive?.bytesPerMsg), 1],
  ["message KB: convene", (r) => kb(r.convene.bytesPerMsg), 1],
  ["Redis commands per send (sending)", (r) => r.convene.redisCmdsPerSend, 1],
  ["Redis bytes per completed send", (r) => r.convene.redisBytesPerSend, 0],
  ["worker peak RSS MB: convene", (r) => r.convene.peakRssMb, 1],
  ["worker peak RSS MB: naive", (r) => r.naive?.peakRssMb, 1],
  ["first scheduler tick ms", (r) => r.convene.tickMs, 0],
  ["lateness ms (due → first message)", (r) => r.convene.latenessMs, 0],
  ["longest gap between messages ms: convene", (r) => r.convene.maxGapMs, 0],
];

function cells(s: Spread, digits: number): string[] {
  return [s.min, s.median, s.max].map((v) =>
    (Number.isNaN(v) ? "—" : v.toFixed(digits)).padStart(10),
  );
}

export function table(k: KindResult): string {
  const head = `${k.kind}: N = ${k.n}, ${k.rounds.length} round(s)`;
  const lines = [
    head,
    `${"".padEnd(46)}${["min", "median", "max"].map((h) => h.padStart(10)).join("")}`,
  ];
  for (const [label, pick, digits] of ROWS)
    lines.push(`${label.padEnd(46)}${cells(spread(column(k.rounds, pick)), digits).join("")}`);
  return lines.join("\n");
}

/** What the reader must know to trust the numbers. */
export function notes(k: KindResult, sharedRedis: boolean): string[] {
  const out: string[] = [];
  if (sharedRedis)
    out.push(
      "Redis commands are a server-wide delta of a shared Redis (REDIS_URL): other clients count too. Use --own-redis for an exact count.",
    );
  k.rounds.forEach((r, i) => {
    const top = r.convene.redisCommands.slice(0, 12).map(([c, n]) => `${c} ${n.toFixed(1)}`);
    out.push(`round ${i + 1}: Redis commands per send, by command: ${top.join(", ")}`);
    if (r.convene.tickOverran)
      out.push(`round ${i + 1}: the first tick ended after the due time; raise --lead.`);
    for (const w of new Set(r.convene.warnings)) out.push(`round ${i + 1}: worker logged: ${w}`);
  });
  return out;
}
