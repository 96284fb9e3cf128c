/**
 * The counting SMTP server, run as its own process (forked by sink-client.ts) so that accepting
 * mail never competes with the sender for the parent's event loop. It discards every message and
 * keeps only what the benchmark needs: how many, how many bytes, when the first and last arrived,
 * and the longest silence between two messages. Talks to the parent over the IPC channel.
 */
import { writeFileSync } from "node:fs";
import type { Readable } from "node:stream";
import { SMTPServer } from "smtp-server";
import type { SinkCommand, SinkEvent, SinkStats } from "./sink-protocol.js";

interface Round {
  target: number;
  captureTo?: string;
  stats: SinkStats;
}

let round: Round = { target: Number.POSITIVE_INFINITY, stats: emptyStats() };

function emptyStats(): SinkStats {
  return { count: 0, bytes: 0, first: 0, last: 0, maxGapMs: 0, firstByDomain: {} };
}

function tell(event: SinkEvent): void {
  process.send?.(event);
}

function record(size: number, chunks: Buffer[] | undefined, domain: string): void {
  const now = Date.now();
  const s = round.stats;
  s.firstByDomain[domain] ??= now;
  if (s.count > 0) s.maxGapMs = Math.max(s.maxGapMs, now - s.last);
  else s.first = now;
  s.count++;
  s.bytes += size;
  s.last = now;
  if (chunks && round.captureTo) {
    writeFileSync(round.captureTo, Buffer.concat(chunks));
    round.captureTo = undefined;
  }
  if (s.count === round.target) tell({ type: "reached", stats: { ...s } });
}

/** Counts the bytes of one DATA stream; keeps them only when the parent asked for a copy. */
function consume(stream: Readable, domain: string, done: (err?: Error | null) => void): void {
  const keep = round.captureTo ? ([] as Buffer[]) : undefined;
  let size = 0;
  stream.on("data", (chunk: Buffer) => {
    size += chunk.length;
    keep?.push(chunk);
  });
  stream.on("end", () => {
    record(size, keep, domain);
    done();
  });
}

function handle(cmd: SinkCommand): void {
  if (cmd.type === "reset") {
    round = {
      target: cmd.target,
      stats: emptyStats(),
      ...(cmd.captureTo ? { captureTo: cmd.captureTo } : {}),
    };
    tell({ type: "reset" });
  } else if (cmd.type === "stats") tell({ type: "stats", stats: { ...round.stats } });
  else if (cmd.type === "close") server.close(() => process.exit(0));
}

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS"],
  logger: false,
  onData: (stream, session, done) =>
    consume(stream, session.envelope.rcptTo[0]?.address.split("@")[1] ?? "", done),
});

process.on("message", (m) => handle(m as SinkCommand));
process.on("disconnect", () => process.exit(0));
server.listen(0, "127.0.0.1", () => {
  const address = server.server.address();
  if (address && typeof address === "object") tell({ type: "ready", port: address.port });
});
