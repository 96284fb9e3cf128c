/**
 * The convene round: the real path. A fresh event folder whose one step falls due `leadMs` after
 * the built CLI's `convene worker` is spawned; the worker's scheduler plans and queues the N
 * sends on its first tick, and its senders deliver them to the sink when they fall due.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { Queue } from "bullmq";
import { keys } from "../../src/store/keys.js";
import { QUEUE_NAME } from "../../src/worker/queue.js";
import { CLI } from "./ceiling.js";
import { type RunContext, SECRET, type Throughput, throughput } from "./context.js";
import { type Kind, writeEvent } from "./event.js";
import { cpuMs, peakRssMb } from "./proc.js";
import { commandCalls, commandsPerSend, deletePrefix, prefixBytes } from "./redis.js";
import { withTimeout } from "./sink-client.js";
import { isStarted, isTick, type LogLine, WorkerLog } from "./worker-log.js";

export interface ConveneResult extends Throughput {
  redisCmdsPerSend: number;
  /** The same, by command (EVALSHA counts a script once; what it calls counts on its own). */
  redisCommands: [string, number][];
  redisBytesPerSend: number;
  tickMs: number;
  latenessMs: number;
  /** The tick ended after the step's due time: lateness then includes part of the tick. */
  tickOverran: boolean;
  warnings: string[];
}

interface Run {
  prefix: string;
  eventDir: string;
  dueAt: number;
  worker: ChildProcess;
  log: WorkerLog;
}

/**
 * Extra node flags for the worker only (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`): node refuses
 * --cpu-prof in NODE_OPTIONS, and a profile of the bench itself would be noise.
 */
const WORKER_NODE_ARGS = (process.env.CONVENE_BENCH_WORKER_NODE_ARGS ?? "")
  .split(" ")
  .filter((a) => a.length > 0);

/**
 * `CONVENE_BENCH_SMTP_QUERY="maxConnections=10"` adds to the worker's SMTP_URL query only, for
 * the pool-size measurements in the README ("Tuning throughput"); the ceiling keeps nodemailer's
 * default pool, the one convene has unless SMTP_URL says otherwise.
 */
function workerSmtpUrl(sinkUrl: string): string {
  const extra = new URLSearchParams(process.env.CONVENE_BENCH_SMTP_QUERY ?? "");
  const u = new URL(sinkUrl);
  for (const [k, v] of extra) u.searchParams.set(k, v);
  return u.toString();
}

export function spawnWorker(ctx: RunContext, prefix: string, eventDir: string): ChildProcess {
  return spawn(process.execPath, [...WORKER_NODE_ARGS, CLI, "worker", eventDir], {
    env: {
      ...process.env,
      REDIS_URL: ctx.redis.url,
      CONVENE_PREFIX: prefix,
      SMTP_URL: workerSmtpUrl(ctx.sink.url),
      UNSUBSCRIBE_SECRET: SECRET,
      // Required with SMTP_URL; the bench never clicks the links.
      UNSUBSCRIBE_URL: "http://127.0.0.1:8090/unsubscribe",
      CONVENE_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
}

function startRun(ctx: RunContext, kind: Kind): Run {
  const prefix = `convene-bench-${randomBytes(4).toString("hex")}`;
  const dueAt = Date.now() + ctx.leadMs;
  const eventDir = writeEvent(kind, ctx.n, new Date(dueAt));
  const worker = spawnWorker(ctx, prefix, eventDir);
  const log = new WorkerLog(worker.stdout as NonNullable<ChildProcess["stdout"]>);
  return { prefix, eventDir, dueAt, worker, log };
}

/** The worker's first tick: its duration, from the "worker started" line to its summary. */
async function firstTick(ctx: RunContext, run: Run): Promise<{ tickMs: number; tick: LogLine }> {
  const exited = new Promise<never>((_, reject) =>
    run.worker.once("exit", (code) => reject(new Error(`convene worker exited (code ${code})`))),
  );
  exited.catch(() => undefined);
  const both = Promise.all([run.log.find(isStarted), run.log.find(isTick)]);
  const [started, tick] = await withTimeout(
    Promise.race([both, exited]),
    ctx.timeoutMs,
    async () => "convene worker logged no scheduler tick",
  );
  return { tickMs: Date.parse(tick.time) - Date.parse(started.time), tick };
}

/** Waits until the worker's queue holds no job that is still to run (all recorded and removed). */
async function drained(ctx: RunContext, prefix: string): Promise<void> {
  const connection = ctx.redis.client.duplicate();
  const queue = new Queue(QUEUE_NAME, { connection, prefix: keys(prefix).bullPrefix() });
  try {
    for (;;) {
      const c = await queue.getJobCounts("active", "wait", "delayed", "prioritized", "paused");
      if (Object.values(c).every((v) => v === 0)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

export async function stopWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null) return;
  const exited = new Promise((r) => worker.once("exit", r));
  worker.kill("SIGTERM");
  await exited;
}

/**
 * BullMQ's events stream is capped (about 10,000 entries), so it does not grow with the number
 * of sends: left out of the per-send figure.
 */
const EVENTS_STREAM = new RegExp(`:${QUEUE_NAME}:events$`);

async function measure(ctx: RunContext, run: Run): Promise<ConveneResult> {
  const reached = ctx.sink.reached(ctx.timeoutMs + ctx.leadMs);
  const { tickMs } = await firstTick(ctx, run);
  const pid = run.worker.pid as number;
  const tickOverran = Date.now() > run.dueAt;
  const cpuBefore = cpuMs(pid);
  const callsBefore = await commandCalls(ctx.redis.client);
  const stats = await reached;
  const cost = { cpuMs: cpuMs(pid) - cpuBefore, peakRssMb: peakRssMb(pid) };
  await drained(ctx, run.prefix);
  const calls = commandsPerSend(callsBefore, await commandCalls(ctx.redis.client), ctx.n);
  const cmds = calls.reduce((sum, [, perSend]) => sum + perSend, 0) * ctx.n;
  await stopWorker(run.worker);
  const bytes = await prefixBytes(ctx.redis.client, run.prefix, EVENTS_STREAM);
  return {
    ...throughput(stats, cost),
    redisCmdsPerSend: cmds / ctx.n,
    redisCommands: calls,
    redisBytesPerSend: bytes / ctx.n,
    tickMs,
    latenessMs: stats.first - run.dueAt,
    tickOverran,
    warnings: run.log.problems().map((l) => l.msg),
  };
}

export async function runConvene(ctx: RunContext, kind: Kind): Promise<ConveneResult> {
  await ctx.sink.reset(ctx.n);
  const run = startRun(ctx, kind);
  try {
    return await measure(ctx, run);
  } finally {
    await stopWorker(run.worker);
    await deletePrefix(ctx.redis.client, run.prefix);
    rmSync(dirname(run.eventDir), { recursive: true, force: true });
  }
}
