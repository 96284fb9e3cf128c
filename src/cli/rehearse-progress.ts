/**
 * What `convene rehearse` shows while it runs, on stderr so stdout keeps only the result. On a
 * terminal: one block redrawn in place (log-update) with the simulated time in the event's
 * zone, a line per step with sent/planned, and the time elapsed. Piped (CI, a log file): a few
 * plain lines, at the start, when a step is done and at the end, never a redraw.
 */
import { createLogUpdate } from "log-update";
import { localTime } from "../mail/outbox.js";
import type { RehearsalProgress, StepProgress } from "../worker/rehearsal.js";

export interface ProgressView {
  update(p: RehearsalProgress): void;
  /** Leaves the last frame on screen (or says nothing more, when piped). */
  stop(): void;
}

function elapsed(since: number): string {
  const s = Math.floor((Date.now() - since) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function stepLine(st: StepProgress, width: number): string {
  return `  ${st.step.padEnd(width)}  ${String(st.sent).padStart(5)}/${st.planned} sent`;
}

function frame(p: RehearsalProgress, zone: string, since: number): string {
  const width = Math.max(...p.steps.map((s) => s.step.length));
  return [
    `Rehearsing: ${localTime(p.at.toISO() as string, zone)} (moment ${p.moment} of ${p.moments}), ${elapsed(since)} elapsed`,
    ...p.steps.map((st) => stepLine(st, width)),
  ].join("\n");
}

/** log-update on `stream`, sized even when the terminal does not say its size. */
export function terminalDraw(stream: NodeJS.WriteStream): ReturnType<typeof createLogUpdate> {
  // A pseudo-terminal without a size (script, some CI runners) reports 0 rows, and log-update
  // would clip every frame to nothing.
  const sized = Object.assign(Object.create(stream) as NodeJS.WriteStream, {
    rows: stream.rows || 24,
    columns: stream.columns || 80,
    write: stream.write.bind(stream),
  });
  return createLogUpdate(sized);
}

function ttyView(stream: NodeJS.WriteStream, zone: string): ProgressView {
  const since = Date.now();
  const draw = terminalDraw(stream);
  let last: RehearsalProgress | undefined;
  // The elapsed timer moves while a long moment (hundreds of messages) is being sent.
  const timer = setInterval(() => last && draw(frame(last, zone, since)), 500);
  timer.unref();
  return {
    update(p) {
      last = p;
      draw(frame(p, zone, since));
    },
    stop() {
      clearInterval(timer);
      draw.done();
    },
  };
}

function plainView(stream: NodeJS.WritableStream, zone: string): ProgressView {
  const since = Date.now();
  const done = new Set<string>();
  const say = (line: string) => stream.write(`${line}\n`);
  return {
    update(p) {
      const at = p.at.toMillis();
      if (p.phase === "start") {
        const planned = p.steps.reduce((n, s) => n + s.planned, 0);
        say(
          `Rehearsing ${planned} sends at ${p.moments} moments, from ${localTime(p.at.toISO() as string, zone)}.`,
        );
      }
      for (const st of p.steps)
        if (p.phase !== "start" && !done.has(st.step) && (st.lastDue <= at || p.phase === "end")) {
          done.add(st.step);
          say(`  ${st.step}: ${st.sent} of ${st.planned} sent (${elapsed(since)})`);
        }
      if (p.phase === "end") say(`Rehearsal finished in ${elapsed(since)}.`);
    },
    stop() {},
  };
}

export function progressView(zone: string, stream = process.stderr): ProgressView {
  return stream.isTTY ? ttyView(stream, zone) : plainView(stream, zone);
}
