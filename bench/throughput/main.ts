/**
 * `npm run bench`: convene's throughput against the SMTP ceiling and a naive worker, in one run
 * (issue 12). For each kind (the invitation letter, the calendar invite) and each round, three
 * measurements into one counting SMTP server in its own process (sink.ts):
 *  - ceiling: N copies of one pre-built convene message, through convene's transport settings;
 *  - naive: a plain BullMQ worker that compiles MJML and builds ICS and MIME per message;
 *  - convene: the built CLI's `convene worker` on a generated copy of events/ca-lmi-2017, from
 *    the planner through the scheduler to SMTP.
 * Each is timed from the first to the N-th message received. See bench/throughput/README.md.
 */
import { rmSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import { runCeiling, sampleDir, sampleMessage } from "./ceiling.js";
import { NAIVE_MAX, type RunContext } from "./context.js";
import { runConvene } from "./convene.js";
import type { Kind } from "./event.js";
import { runNaive } from "./naive.js";
import { type BenchRedis, ownRedis, sharedRedis } from "./redis.js";
import { type KindResult, notes, type RoundResult, summaryObject, table } from "./report.js";
import { Sink } from "./sink-client.js";
import { runTimeliness } from "./timeliness.js";

interface Options {
  n: number;
  kind: "letter" | "invite" | "both";
  rounds: number;
  json: boolean;
  ownRedis?: number | true;
  lead: number;
  timeout: number;
  without: Skippable[];
  timeliness: boolean;
  steps: number;
  perStep: number;
  big: number;
  spacing: number;
}

const SKIPPABLE = ["ceiling", "naive"] as const;
type Skippable = (typeof SKIPPABLE)[number];

function skippable(text: string): Skippable[] {
  const names = text.split(",").map((s) => s.trim());
  for (const name of names)
    if (!(SKIPPABLE as readonly string[]).includes(name))
      throw new InvalidArgumentError(`must be a list of ${SKIPPABLE.join(", ")}`);
  return names as Skippable[];
}

/**
 * The trigger is "one minute after registration" and the planner ignores registrations still in
 * the future, so the due time can be at most a minute after the worker starts (event.ts).
 */
function leadSeconds(text: string): number {
  const n = positiveInt(text);
  if (n > 55)
    throw new InvalidArgumentError("must be at most 55 (the trigger is 1m after registration)");
  return n;
}

function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a whole number ≥ 1");
  return n;
}

function wholeNumber(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number ≥ 0");
  return n;
}

function options(argv: string[]): Options {
  return new Command("bench")
    .description("convene against the SMTP ceiling and a naive worker")
    .option("--n <count>", "personalised messages per measurement", positiveInt, 5000)
    .addOption(
      new Option("--kind <kind>", "which message kind")
        .choices(["letter", "invite", "both"])
        .default("both"),
    )
    .option("--rounds <count>", "rounds per kind (the table shows min/median/max)", positiveInt, 3)
    .option("--json", "print one JSON object per kind on stdout (the table goes to stderr)", false)
    .option(
      "--own-redis [port]",
      "start a private redis-server on this port (default 6550) instead of REDIS_URL",
      positiveInt,
    )
    .option(
      "--lead <seconds>",
      "from spawning `convene worker` to the step's due time (≤ 55)",
      leadSeconds,
      20,
    )
    .option("--timeout <seconds>", "give up on a measurement after this long", positiveInt, 900)
    .option(
      "--without <list>",
      "leave out ceiling and/or naive (comma-separated), e.g. for a 100,000-recipient run",
      skippable,
      [],
    )
    .option(
      "--timeliness",
      "instead: lateness of the first message of --steps steps due --spacing seconds apart",
      false,
    )
    .option("--steps <count>", "with --timeliness: steps (occurrences) measured", positiveInt, 20)
    .option("--per-step <count>", "with --timeliness: recipients per step", positiveInt, 5)
    .option(
      "--big <count>",
      "with --timeliness: recipients of a later step every tick plans (0 for none)",
      wholeNumber,
      50_000,
    )
    .option(
      "--spacing <seconds>",
      "with --timeliness: between two steps' due times",
      positiveInt,
      3,
    )
    .parse(argv)
    .opts<Options>();
}

function connect(o: Options): Promise<BenchRedis> {
  if (o.ownRedis === undefined)
    return sharedRedis(process.env.REDIS_URL || "redis://127.0.0.1:6379");
  return ownRedis(o.ownRedis === true ? 6550 : o.ownRedis);
}

async function measureRound(
  ctx: RunContext,
  kind: Kind,
  tag: string,
  eml: string | undefined,
): Promise<RoundResult> {
  const ceiling = eml ? await runCeiling(ctx, eml) : undefined;
  if (ceiling) ctx.log(`${tag}: ceiling ${ceiling.mps.toFixed(1)} msg/s`);
  const naive = ctx.without.has("naive") ? undefined : await runNaive(ctx, kind);
  if (naive) ctx.log(`${tag}: naive ${naive.mps.toFixed(1)} msg/s`);
  const convene = await runConvene(ctx, kind);
  ctx.log(`${tag}: convene ${convene.mps.toFixed(1)} msg/s`);
  return { ...(ceiling ? { ceiling } : {}), ...(naive ? { naive } : {}), convene };
}

async function measureKind(ctx: RunContext, kind: Kind, rounds: number): Promise<KindResult> {
  const samples = sampleDir();
  try {
    const eml = ctx.without.has("ceiling") ? undefined : sampleMessage(kind, samples);
    const results: RoundResult[] = [];
    for (let i = 1; i <= rounds; i++)
      results.push(await measureRound(ctx, kind, `${kind} round ${i}/${rounds}`, eml));
    return { kind, n: ctx.n, rounds: results };
  } finally {
    rmSync(samples, { recursive: true, force: true });
  }
}

/** The tables on stdout; with --json, the objects on stdout and the tables on stderr. */
function print(results: KindResult[], o: Options, shared: boolean, ctx: RunContext): void {
  const human = o.json ? process.stderr : process.stdout;
  for (const k of results) {
    human.write(`\n${table(k)}\n`);
    const naiveNote =
      ctx.naiveN < ctx.n && !ctx.without.has("naive")
        ? [
            `the naive worker sent ${ctx.naiveN} messages, not ${ctx.n} (its rate does not grow with N)`,
          ]
        : [];
    for (const line of [...naiveNote, ...notes(k, shared)]) human.write(`  note: ${line}\n`);
  }
  if (o.json)
    for (const k of results) process.stdout.write(`${JSON.stringify(summaryObject(k))}\n`);
}

async function main(): Promise<void> {
  const o = options(process.argv);
  const kinds: Kind[] = o.kind === "both" ? ["letter", "invite"] : [o.kind];
  const redis = await connect(o);
  const sink = await Sink.start();
  const ctx: RunContext = {
    sink,
    redis,
    n: o.n,
    naiveN: Math.min(o.n, NAIVE_MAX),
    timeoutMs: o.timeout * 1000,
    leadMs: o.lead * 1000,
    without: new Set(o.without),
    log: (line) => process.stderr.write(`${line}\n`),
  };
  try {
    if (o.timeliness) {
      const r = await runTimeliness(ctx, {
        steps: o.steps,
        perStep: o.perStep,
        big: o.big,
        spacingMs: o.spacing * 1000,
      });
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return;
    }
    const results: KindResult[] = [];
    for (const kind of kinds) results.push(await measureKind(ctx, kind, o.rounds));
    print(results, o, redis.shared, ctx);
  } finally {
    await sink.close();
    await redis.stop();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(1);
});
