/**
 * Issue 12's tick figures without sending: `convene worker`'s scheduler alone, on a private Redis,
 * over the bench event (throughput/event.ts) with N recipients. Prints the first tick, then
 * unchanged ticks, each with its Redis command count, and the process's peak RSS. The start-up
 * check (reading and checking the event, before "worker started") is timed on its own line.
 *
 *   node --import tsx bench/tick.ts --n 100000 --port 6583   (a redis-server of your own)
 *
 * The step falls due `--due` seconds (50) after the start. Each line also counts the jobs in
 * Redis that have not run (nothing sends here): what CONVENE_QUEUE_AHEAD bounds.
 *
 * With CONVENE_FULL_TICK=0 every tick after the first is a full one (the 5-minute reconcile).
 * CONVENE_HEAP_GROWTH and CONVENE_QUEUE_AHEAD are applied as `convene worker` applies them.
 */
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { KINDS } from "../jobs/index.js";
import { heapGrowthAroundTicks, heldWhile } from "../src/cli/heap-growth.js";
import { loadConfig } from "../src/config.js";
import { composeMessage } from "../src/mail/compose.js";
import { DefinitionCache } from "../src/worker/definitions.js";
import { createLogger } from "../src/worker/logger.js";
import { loadWorkerSettings } from "../src/worker/settings.js";
import { startWorker } from "../src/worker/worker.js";
import { writeEvent } from "./throughput/event.js";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "20000" },
    port: { type: "string", default: "6583" },
    due: { type: "string", default: "50" },
  },
});
const n = Number(values.n);
const url = `redis://127.0.0.1:${values.port}`;
const admin = new Redis(url);

async function commands(): Promise<number> {
  const info = await admin.info("commandstats");
  let total = 0;
  for (const m of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm))
    if (m[1] !== "info") total += Number(m[2]);
  return total;
}

async function timed(what: string, f: () => Promise<unknown>): Promise<void> {
  const before = await commands();
  const t0 = performance.now();
  await f();
  const ms = Math.round(performance.now() - t0);
  const cmds = (await commands()) - before;
  const rss = Math.round(process.resourceUsage().maxRSS / 1024);
  // Jobs in Redis that have not run (the senders are off): what queueing ahead bounds.
  const jobs = await w.queue.getJobCounts("wait", "delayed");
  console.log(JSON.stringify({ what, ms, redis_cmds: cmds, peak_rss_mb: rss, jobs_queued: jobs }));
}

const dueInS = Number(values.due);
// Registered a minute or more ago, so that the first tick plans the step.
const dir = writeEvent(
  "letter",
  n,
  new Date(Date.now() + dueInS * 1000),
  Math.max(1, Math.ceil(dueInS / 60) + 1),
);
const prefix = `convene-bench-tick-${process.pid}`;
const settings = {
  // The environment's CONVENE_* settings, as `convene worker` reads them.
  ...loadWorkerSettings(process.env),
  settleMs: 0,
};
// As `convene worker` holds the heap's growth (README, "Tuning throughput").
const { aroundTick, stop } = heapGrowthAroundTicks(settings.heapGrowthPercent);
// As `convene worker` checks the event before it starts, and its first tick uses what it read.
const defs = new DefinitionCache({ kinds: KINDS, settleMs: settings.settleMs });
const check = performance.now();
heldWhile(() => defs.check(dir));
console.log(JSON.stringify({ what: "start-up check", ms: Math.round(performance.now() - check) }));
const w = startWorker({
  defs,
  ...(aroundTick ? { aroundTick } : {}),
  paths: [dir],
  kinds: KINDS,
  config: { ...loadConfig({}), redisUrl: url, prefix },
  settings,
  log: createLogger({ level: "silent", pretty: false }),
  scheduler: true,
  processors: false,
  cron: "0 0 1 1 *",
  composer: composeMessage,
});
// The start-up tick is the first one.
await timed("first tick", () => w.ready);
for (let i = 1; i <= 3; i++)
  await timed(`unchanged tick ${i}`, () => w.scheduler?.tick() ?? Promise.resolve());
await w.close();
stop();
const keys = await admin.keys(`${prefix}*`);
for (let i = 0; i < keys.length; i += 500) await admin.unlink(...keys.slice(i, i + 500));
const bull = await admin.keys(`*${prefix}*`);
for (let i = 0; i < bull.length; i += 500) await admin.unlink(...bull.slice(i, i + 500));
admin.disconnect();
