/**
 * `npm run bench -- --timeliness`: how late the first message of a step reaches SMTP (issue 12,
 * "Timeliness"). One `convene worker` on a copy of events/ca-lmi-2017 whose letter step falls
 * due at `steps` different moments, `spacing` apart: one team each, registered five minutes
 * before its moment, so every occurrence is planned and queued by the first tick like any
 * scheduled step. The window they span is at least a minute long, so at least one falls due
 * while a minute tick runs; and a second step of `big` recipients, due hours later, makes every
 * tick a big one (it plans them all, though none is queued: they are beyond the horizon).
 *
 * The sink notes the first message to each recipient domain (a team's addresses share one);
 * lateness is that minus the team's due time.
 */

import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DateTime } from "luxon";
import { parse, stringify } from "yaml";
import type { RunContext } from "./context.js";
import { spawnWorker, stopWorker } from "./convene.js";
import { backdate, EVENT_ID, SOURCE_EVENT, STEP_OF } from "./event.js";
import { deletePrefix } from "./redis.js";
import { percentile } from "./stats.js";
import { isTick, WorkerLog } from "./worker-log.js";

export interface TimelinessOptions {
  steps: number;
  perStep: number;
  big: number;
  spacingMs: number;
}

export interface TimelinessResult {
  steps: number;
  per_step: number;
  big_step_recipients: number;
  lateness_p50_ms: number;
  lateness_p99_ms: number;
  lateness_max_ms: number;
  over_500ms: number;
  /** Ticks logged during the run, and the most sends one of them planned. */
  ticks: number;
  tick_planned_max: number;
  warnings: string[];
}

/** Registered this long before their moment: planned and queued at the first tick. */
const REGISTERED_BEFORE_MS = 5 * 60_000;

const teamDomain = (t: number) => `team${t}.k12.test`;

function recipientsCsv(o: TimelinessOptions): string {
  const rows = ["email,name,salutation,title,organization,team,timezone"];
  for (let t = 0; t < o.steps; t++)
    for (let j = 0; j < o.perStep; j++)
      rows.push(`p${j}@${teamDomain(t)},Person ${t}-${j},Dr. ${j},Superintendent,Team ${t},t${t},`);
  // Never registered: only the big step reaches them.
  for (let i = 0; i < o.big; i++)
    rows.push(`b${i}@big${i % 900}.k12.test,Big ${i},Dr. ${i},Superintendent,Big USD,big,`);
  return `${rows.join("\n")}\n`;
}

function campaign(dueAt: readonly number[], zone: string): string {
  const source = parse(readFileSync(join(SOURCE_EVENT, "campaign.yaml"), "utf8")) as {
    steps: Record<string, unknown>[];
  };
  const letter = source.steps.find((s) => s.id === STEP_OF.letter) as Record<string, unknown>;
  const { when: _when, ...step } = letter;
  const later = DateTime.fromMillis((dueAt[0] as number) + 3 * 3_600_000, { zone });
  return stringify({
    steps: [
      { ...step, id: "timely", trigger: { anchor: "registration", offset: "5m" } },
      { ...step, id: "big-later", trigger: { at: later.toFormat("yyyy-MM-dd HH:mm") } },
    ],
  });
}

function writeTimelinessEvent(o: TimelinessOptions, dueAt: readonly number[]): string {
  const dir = join(mkdtempSync(join(tmpdir(), "convene-bench-")), EVENT_ID);
  cpSync(SOURCE_EVENT, dir, { recursive: true });
  const zone = (parse(readFileSync(join(dir, "event.yaml"), "utf8")) as { timezone: string })
    .timezone;
  writeFileSync(join(dir, "recipients/superintendents.csv"), recipientsCsv(o));
  writeFileSync(
    join(dir, "recipients/team-members.csv"),
    "email,name,role,team,district,new_to_lmi\np0@team0.k12.test,Person 0,Superintendent,t0,Team 0,no\n",
  );
  const regs = dueAt.map((d, t) => `t${t},${new Date(d - REGISTERED_BEFORE_MS).toISOString()}`);
  writeFileSync(
    join(dir, "recipients/registrations.csv"),
    `team,registered_at\n${regs.join("\n")}\n`,
  );
  writeFileSync(join(dir, "campaign.yaml"), campaign(dueAt, zone));
  backdate(dir);
  return dir;
}

function summarize(o: TimelinessOptions, dueAt: readonly number[], firsts: Record<string, number>) {
  const late = dueAt.map((d, t) => (firsts[teamDomain(t)] ?? Number.NaN) - d);
  return {
    steps: o.steps,
    per_step: o.perStep,
    big_step_recipients: o.big,
    lateness_p50_ms: percentile(late, 50),
    lateness_p99_ms: percentile(late, 99),
    lateness_max_ms: percentile(late, 100),
    over_500ms: late.filter((l) => !(l < 500)).length,
  };
}

function ticksOf(log: WorkerLog): { ticks: number; tick_planned_max: number } {
  const ticks = log.lines.filter(isTick);
  return {
    ticks: ticks.length,
    tick_planned_max: Math.max(0, ...ticks.map((l) => l.planned as number)),
  };
}

export async function runTimeliness(
  ctx: RunContext,
  o: TimelinessOptions,
): Promise<TimelinessResult> {
  const total = o.steps * o.perStep;
  await ctx.sink.reset(total);
  const first = Date.now() + ctx.leadMs;
  const dueAt = Array.from({ length: o.steps }, (_, t) => first + t * o.spacingMs);
  const eventDir = writeTimelinessEvent(o, dueAt);
  const prefix = `convene-bench-${randomBytes(4).toString("hex")}`;
  const reached = ctx.sink.reached(ctx.timeoutMs + ctx.leadMs + o.steps * o.spacingMs);
  const worker = spawnWorker(ctx, prefix, eventDir);
  const log = new WorkerLog(worker.stdout as NonNullable<typeof worker.stdout>);
  try {
    const stats = await reached;
    return {
      ...summarize(o, dueAt, stats.firstByDomain),
      ...ticksOf(log),
      warnings: log.problems().map((l) => l.msg),
    };
  } finally {
    await stopWorker(worker);
    await deletePrefix(ctx.redis.client, prefix);
    rmSync(dirname(eventDir), { recursive: true, force: true });
  }
}
