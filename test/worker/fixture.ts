/**
 * Test harness for the worker: fixture events with computed times, a real SMTP server on
 * loopback that records (and can refuse) what it receives, unique Redis prefixes, and an
 * in-process worker wired to the real composer and mailer.
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Redis } from "ioredis";
import { DateTime } from "luxon";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { afterAll, afterEach, beforeAll } from "vitest";
import { stringify } from "yaml";
import { KINDS } from "../../jobs/index.js";
import { type Config, loadConfig } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { createMailer } from "../../src/mail/transport.js";
import { createLogger, type Logger } from "../../src/worker/logger.js";
import type { AroundTick } from "../../src/worker/scheduler.js";
import { loadWorkerSettings, type WorkerSettings } from "../../src/worker/settings.js";
import { type RunningWorker, startWorker } from "../../src/worker/worker.js";
import { eventDirFrom } from "../support/event-dir.js";
import { connectTestRedis, deletePrefix, REDIS_URL } from "../support/redis.js";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const MINI = join(ROOT, "test/fixtures/worker/mini");

// Tests reach Redis through test/support/redis.ts; re-exported for the worker tests' imports.
export { connectTestRedis, deletePrefix, REDIS_URL } from "../support/redis.js";

// `convene worker` refuses SMTP_URL without an unsubscribe secret; spawned workers inherit env.
process.env.UNSUBSCRIBE_SECRET ||= "convene-test-unsubscribe-secret-0123456789";

/** Where spawned workers' one-click links point (nothing answers it; no test clicks them). */
export const TEST_UNSUBSCRIBE_URL = "http://127.0.0.1:8090/unsubscribe";

export function uniquePrefix(): string {
  return `convene-test-${randomBytes(5).toString("hex")}`;
}

export interface Person {
  email: string;
  name: string;
  team?: string;
}

export function people(n: number, team: (i: number) => string = () => "t1"): Person[] {
  return Array.from({ length: n }, (_, i) => ({
    email: `person${String(i).padStart(5, "0")}@people.test`,
    name: `Person ${i}`,
    team: team(i),
  }));
}

export interface EventFixture {
  dir: string;
  /** Rewrites campaign.yaml (a definition edit). */
  setSteps(steps: object[]): void;
  setPeople(ps: Person[]): void;
  cleanup(): void;
}

/**
 * An event in a temp dir, from the mini fixture: `people` as the audience, `steps` as the
 * campaign, `registrations` written to its registrations file.
 */
export function writeEvent(o: {
  people: Person[];
  steps: object[];
  registrations?: { team: string; at: DateTime }[];
  id?: string;
}): EventFixture {
  const id = o.id;
  const built = eventDirFrom(
    MINI,
    id ? { "event.yaml": (ev) => ev.replace(/^id: mini$/m, `id: ${id}`) } : {},
    id ?? "mini",
  );
  const dir = built.dir;
  const fx: EventFixture = {
    dir,
    setSteps(steps) {
      writeFileSync(join(dir, "campaign.yaml"), stringify({ steps }));
    },
    setPeople(ps) {
      writeFileSync(
        join(dir, "recipients/people.csv"),
        `email,name,team\n${ps.map((p) => `${p.email},${p.name},${p.team ?? ""}`).join("\n")}\n`,
      );
    },
    cleanup: built.cleanup,
  };
  fx.setPeople(o.people);
  fx.setSteps(o.steps);
  writeFileSync(
    join(dir, "recipients/registrations.csv"),
    `team,registered_at\n${(o.registrations ?? [])
      .map((r) => `${r.team},${r.at.toUTC().toISO({ suppressMilliseconds: true })}`)
      .join("\n")}\n`,
  );
  return fx;
}

/**
 * Triggers have minute precision except the `registration` anchor, which has the registration's
 * own instant. So a step "due in `inSeconds`" is anchored on a registration recorded
 * (60 - inSeconds) seconds ago, with a one-minute offset. `now`: a test clock's time, for tests
 * that move the clock themselves (test/support/clock.ts).
 */
export function dueSoon(
  inSeconds: number,
  team = "t1",
  now: DateTime = DateTime.utc(),
): {
  registration: { team: string; at: DateTime };
  due: DateTime;
} {
  const at = now
    .toUTC()
    .minus({ seconds: 60 - inSeconds })
    .startOf("second");
  return { registration: { team, at }, due: at.plus({ minutes: 1 }) };
}

export function letterStep(id = "letter", extra: object = {}): object {
  return {
    id,
    kind: "invitation-letter",
    audience: "people",
    subject: `Mini ${id}`,
    trigger: { anchor: "registration", offset: "1m" },
    missedWindow: "1h",
    ...extra,
  };
}

export interface Received {
  raw: string;
  mail: ParsedMail;
  sendId: string;
  to: string;
}

export type RcptPolicy = (
  address: string,
  n: number,
) => { code: number; message: string } | undefined;

/** A real SMTP server on 127.0.0.1 (random port). `policy` can refuse RCPT TO with any code. */
export async function startSmtp(
  policy?: RcptPolicy,
  o: { holdMs?: number } = {},
): Promise<{
  url: string;
  received: Received[];
  rcptAttempts: () => number;
  setPolicy(p: RcptPolicy | undefined): void;
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  let attempts = 0;
  let current = policy;
  const parsing: Promise<void>[] = [];
  const opts: SMTPServerOptions = {
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    size: 10 * 1024 * 1024,
    onRcptTo(address, _session, cb) {
      attempts++;
      const refuse = current?.(address.address, attempts);
      if (refuse) {
        const err = new Error(refuse.message) as Error & { responseCode: number };
        err.responseCode = refuse.code;
        return cb(err);
      }
      cb();
    },
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        parsing.push(
          simpleParser(raw).then((mail) => {
            received.push({
              raw,
              mail,
              sendId: String(mail.headers.get("x-convene-send-id") ?? ""),
              to: (Array.isArray(mail.to) ? mail.to[0] : mail.to)?.value[0]?.address ?? "",
            });
          }),
        );
        // holdMs: the message is received, but the 250 comes late (a slow relay).
        if (o.holdMs) setTimeout(() => cb(), o.holdMs);
        else cb();
      });
    },
  };
  const server = new SMTPServer(opts);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}?maxConnections=5`,
    received,
    rcptAttempts: () => attempts,
    setPolicy(p) {
      current = p;
    },
    async waitFor(n, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      while (received.length < n) {
        if (Date.now() > until)
          throw new Error(`SMTP server received ${received.length} of ${n} messages in time`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await Promise.all(parsing);
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A loopback SMTP server, a key prefix and an event, all removed when the test file ends. */
export async function eventSetup(hooks: TestHooks, o: Parameters<typeof writeEvent>[0]) {
  const smtp = await startSmtp();
  const prefix = uniquePrefix();
  const fx = writeEvent(o);
  hooks.cleanups.push(
    () => fx.cleanup(),
    () => smtp.close(),
    () => deletePrefix(prefix),
  );
  return { smtp, prefix, fx, config: testConfig(prefix, smtp.url) };
}

export function testConfig(prefix: string, smtpUrl: string, extra: Partial<Config> = {}): Config {
  return { ...loadConfig({}), redisUrl: REDIS_URL, prefix, smtpUrl, ...extra };
}

export function testSettings(extra: Partial<WorkerSettings> = {}): WorkerSettings {
  return {
    ...loadWorkerSettings({}),
    backoffMs: 200,
    backoffMaxMs: 1_000,
    slowDownMs: 500,
    pauseRecheckMs: 500,
    shutdownMs: 5_000,
    connectBackoffMs: 200,
    connectBackoffMaxMs: 2_000,
    // Fixtures write whole files at once and tick right after; the settle time has its own test.
    settleMs: 0,
    ...extra,
  };
}

/**
 * A worker in this process with the real composer and SMTP mailer. Its cron never fires during
 * a test (Jan 1st); tests call `scheduler.tick()` so each re-plan happens exactly when asserted.
 */
export function inProcessWorker(o: {
  paths: string[];
  config: Config;
  settings?: Partial<WorkerSettings>;
  scheduler?: boolean;
  processors?: boolean;
  clock?: () => DateTime;
  /** Where the worker logs; silent unless CONVENE_TEST_LOG names a level. */
  log?: Logger;
  aroundTick?: AroundTick;
}): RunningWorker {
  return startWorker({
    paths: o.paths,
    kinds: KINDS,
    config: o.config,
    settings: testSettings(o.settings),
    log: o.log ?? createLogger({ level: process.env.CONVENE_TEST_LOG ?? "silent", pretty: false }),
    scheduler: o.scheduler ?? true,
    processors: o.processors ?? true,
    cron: "0 0 1 1 *",
    composer: composeMessage,
    mailer: () => createMailer(o.config),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.aroundTick ? { aroundTick: o.aroundTick } : {}),
  });
}

export async function until(
  what: string,
  cond: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A clock running `aheadMs` ahead of real time, chosen so that the next whole minute of the
 * shifted clock is `inSeconds` away in real time: minute-precise triggers (`at`) then fire
 * a few seconds into the test. BullMQ delays stay relative, so jobs fire on real time.
 */
export function shiftedClock(inSeconds: number): { clock: () => DateTime; minute: DateTime } {
  const real = Date.now();
  const minute = DateTime.fromMillis(Math.ceil((real + 60_000) / 60_000) * 60_000, { zone: "UTC" });
  const ahead = minute.toMillis() - inSeconds * 1000 - real;
  return { clock: () => DateTime.fromMillis(Date.now() + ahead, { zone: "UTC" }), minute };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface TestHooks {
  /** A Redis client for assertions, connected before the first test. */
  readonly redis: Redis;
  /** Run after each test, newest first. */
  readonly cleanups: (() => Promise<void> | void)[];
  /** Child processes killed after each test if still running. */
  readonly children: ChildProcess[];
}

/** The hooks every worker test file needs. Call once, at the top level of the file. */
export function testHooks(): TestHooks {
  let redis: Redis | undefined;
  const cleanups: (() => Promise<void> | void)[] = [];
  const children: ChildProcess[] = [];
  beforeAll(() => {
    redis = connectTestRedis();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(() => redis?.disconnect());
  return {
    get redis() {
      if (!redis) throw new Error("testHooks().redis is only available inside tests");
      return redis;
    },
    cleanups,
    children,
  };
}

const CLI = join(ROOT, "src/cli.ts");

/** Runs `convene <args>` from source against a key prefix, to completion; its stdout. */
export async function convene(args: string[], prefix: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", CLI, ...args],
    {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL, CONVENE_PREFIX: prefix },
    },
  );
  return stdout;
}

/**
 * Starts `convene worker <args>` as a child process, as an operator would; it joins `children`
 * so the test hooks kill it if a test leaves it running.
 */
export function spawnWorker(
  children: ChildProcess[],
  args: string[],
  env: Record<string, string>,
  stdio: "ignore" | "pipe" = "ignore",
): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "worker", ...args], {
    cwd: ROOT,
    // A worker with SMTP_URL refuses to start without an unsubscribe URL that answers.
    env: { ...process.env, UNSUBSCRIBE_URL: TEST_UNSUBSCRIBE_URL, ...env },
    stdio: ["ignore", stdio, stdio],
  });
  children.push(child);
  return child;
}
