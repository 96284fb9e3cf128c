/** The naive round: N jobs added to a plain BullMQ queue, drained by naive-worker.ts. */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { Queue } from "bullmq";
import { closeMeasured, costSoFar, startMeasured } from "./child.js";
import { type RunContext, type Throughput, throughput } from "./context.js";
import { type Kind, recipient, writeEvent } from "./event.js";
import { deletePrefix } from "./redis.js";

const QUEUE = "naive";

async function enqueue(ctx: RunContext, prefix: string): Promise<void> {
  const connection = ctx.redis.client.duplicate();
  const queue = new Queue(QUEUE, { connection, prefix });
  for (let i = 0; i < ctx.naiveN; i += 1000) {
    const jobs = [];
    for (let j = i; j < Math.min(ctx.naiveN, i + 1000); j++)
      jobs.push({ name: "send", data: recipient(j), opts: { removeOnComplete: true } });
    await queue.addBulk(jobs);
  }
  await queue.close();
  connection.disconnect();
}

export async function runNaive(ctx: RunContext, kind: Kind): Promise<Throughput> {
  const prefix = `convene-bench-naive-${randomBytes(4).toString("hex")}`;
  const eventDir = writeEvent(kind, 1, new Date());
  try {
    await enqueue(ctx, prefix);
    await ctx.sink.reset(ctx.naiveN);
    const reached = ctx.sink.reached(ctx.timeoutMs);
    const worker = await startMeasured("./naive-worker.ts", [
      ctx.redis.url,
      prefix,
      QUEUE,
      kind,
      eventDir,
      ctx.sink.url,
    ]);
    try {
      const stats = await reached;
      return throughput(stats, costSoFar(worker));
    } finally {
      await closeMeasured(worker);
    }
  } finally {
    await deletePrefix(ctx.redis.client, prefix);
    rmSync(dirname(eventDir), { recursive: true, force: true });
  }
}
