/** The messages between the benchmark and its SMTP sink process (sink.ts). */

export interface SinkStats {
  count: number;
  bytes: number;
  /** Epoch ms of the first and the last message of the round (0 before any). */
  first: number;
  last: number;
  /** The longest time between two consecutive messages of the round. */
  maxGapMs: number;
  /** Epoch ms of the first message to each recipient domain (the timeliness bench's teams). */
  firstByDomain: Record<string, number>;
}

export type SinkCommand =
  /** Starts a round: counts from zero, reports `reached` at `target`, saves one message if asked. */
  { type: "reset"; target: number; captureTo?: string } | { type: "stats" } | { type: "close" };

export type SinkEvent =
  | { type: "ready"; port: number }
  | { type: "reset" }
  | { type: "reached"; stats: SinkStats }
  | { type: "stats"; stats: SinkStats };
