/**
 * The ceiling: first one real convene message of the kind, made by the built CLI's `preview`
 * from the same event as convene's round; then N copies of its raw bytes through the pool.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { closeMeasured, costSoFar, startMeasured } from "./child.js";
import { type RunContext, SECRET, type Throughput, throughput } from "./context.js";
import { type Kind, ROOT, recipient, STEP_OF, writeEvent } from "./event.js";

export const CLI = join(ROOT, "dist/src/cli.js");

/** Renders one message of the kind with `convene preview`; returns the .eml's path. */
export function sampleMessage(kind: Kind, into: string): string {
  const eventDir = writeEvent(kind, 1, new Date());
  try {
    execFileSync(
      process.execPath,
      [CLI, "preview", eventDir, "--step", STEP_OF[kind], "--out", into],
      {
        env: { ...process.env, UNSUBSCRIBE_SECRET: SECRET },
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
  } finally {
    rmSync(dirname(eventDir), { recursive: true, force: true });
  }
  const eml = readdirSync(into).find((f) => f.endsWith(".eml"));
  if (!eml) throw new Error(`convene preview wrote no .eml into ${into}`);
  return join(into, eml);
}

export async function runCeiling(ctx: RunContext, eml: string): Promise<Throughput> {
  await ctx.sink.reset(ctx.n);
  const reached = ctx.sink.reached(ctx.timeoutMs);
  const r = recipient(0);
  const sender = await startMeasured("./ceiling-sender.ts", [
    ctx.sink.url,
    eml,
    String(ctx.n),
    "lmi@cdefoundation.org",
    r.email,
  ]);
  try {
    const stats = await reached;
    return throughput(stats, costSoFar(sender));
  } finally {
    await closeMeasured(sender);
  }
}

export function sampleDir(): string {
  return mkdtempSync(join(tmpdir(), "convene-bench-sample-"));
}
