/** What every measurement of a run shares, and what one measurement yields. */
import type { BenchRedis } from "./redis.js";
import type { Sink } from "./sink-client.js";
import type { SinkStats } from "./sink-protocol.js";

export interface RunContext {
  sink: Sink;
  redis: BenchRedis;
  n: number;
  /**
   * Messages the naive worker sends: N up to NAIVE_MAX. Its rate is a cost per message that
   * does not grow with N, and 100,000 of them would take over half an hour.
   */
  naiveN: number;
  timeoutMs: number;
  /** Seconds from the worker's spawn to the step's due time (convene's round). */
  leadMs: number;
  /** Measurements left out (--without). */
  without: ReadonlySet<"ceiling" | "naive">;
  log: (line: string) => void;
}

export const NAIVE_MAX = 5000;

export interface Throughput {
  /** Messages per second from the first to the N-th message received. */
  mps: number;
  cpuMsPerMsg: number;
  peakRssMb: number;
  bytesPerMsg: number;
  /** The longest silence between two received messages. */
  maxGapMs: number;
}

export function throughput(
  stats: SinkStats,
  cost: { cpuMs: number; peakRssMb: number },
): Throughput {
  const seconds = (stats.last - stats.first) / 1000;
  return {
    mps: seconds > 0 ? (stats.count - 1) / seconds : Number.NaN,
    cpuMsPerMsg: cost.cpuMs / stats.count,
    peakRssMb: cost.peakRssMb,
    bytesPerMsg: stats.bytes / stats.count,
    maxGapMs: stats.maxGapMs,
  };
}

export const SECRET = process.env.UNSUBSCRIBE_SECRET || "convene-bench-unsubscribe-secret";
