/**
 * The fault harness: real processes only. Each scenario file gets
 *  - a redis-server of its own (own port in 6410-6429, own temp dir, AOF with fsync on every
 *    write, no RDB), which it can SIGKILL and restart on the same data;
 *  - an SMTP relay in its own process (smtp-proc.ts) whose fault mode it switches and whose
 *    fsync'd record of accepted messages and connections it reads;
 *  - `convene worker` children from the built CLI (dist/src/cli.js), killed with -9 at will.
 * Every pid is tracked; `Lab.close()` (afterAll) kills whatever is still alive, even on failure.
 * All traffic is on 127.0.0.1. Everything a process prints is captured under the lab's folder,
 * so the secrets check can grep all of it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  appendFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  type WriteStream,
  writeFileSync,
} from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DateTime } from "luxon";
import { stringify } from "yaml";
import { withStores } from "../../src/store/index.js";
import type { LedgerRecord } from "../../src/store/ledger.js";
import type { Command } from "./smtp-proc.js";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const CLI = join(ROOT, "dist/src/cli.js");
const SMTP_PROC = join(ROOT, "test/faults/smtp-proc.ts");
export const ROWS_FILE = join(ROOT, "test/faults/.rows.jsonl");

/** Both secrets are long and unique, so a grep for them cannot match anything by accident. */
export const SMTP_USER = "convene-relay-user";
export const SMTP_PASS = "Pw-8d1f2c9a7e4b-relay-secret-0f3a";
export const UNSUBSCRIBE_SECRET = "unsub-5b2e9c1d7a3f4e6b8c0d2a4f6e8b1c3d5e7f";
export const SECRETS = [SMTP_PASS, UNSUBSCRIBE_SECRET];

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(
  what: string,
  cond: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 250,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** A RESP PING over a raw socket: no client library state to reset between Redis restarts. */
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 1_000);
    s.once("connect", () => s.write("PING\r\n"));
    s.once("data", (d) => {
      clearTimeout(t);
      s.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
    s.once("error", () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

export interface Proc {
  name: string;
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  alive(): boolean;
}

export interface Row {
  scenario: string;
  planned: number;
  received: number;
  lost: number;
  duplicates: number;
  unconfirmed: number;
  seconds: number;
  note?: string;
}

export interface Received {
  /** Send id (the Message-ID's local part) → how many copies the relay stored. */
  counts: Map<string, number>;
  messages: number;
  connections: number;
  auths: number;
  leaks: number;
}

export interface SendJson {
  id: string;
  step: string;
  recipient: string;
  due: string;
  expires: string;
}

export interface Status {
  event: string;
  steps: { step: string; planned: number; states: Record<string, number> }[];
  failures?: {
    id: string;
    state: string;
    recipient: string;
    reason: string;
    unconfirmed?: number;
  }[];
}

export interface Person {
  email: string;
  name: string;
}

export function people(n: number, domain = "people.test"): Person[] {
  return Array.from({ length: n }, (_, i) => ({
    email: `p${String(i).padStart(5, "0")}@${domain}`,
    name: `Person ${i}`,
  }));
}

export function csvOf(ps: readonly Person[]): string {
  return `email,name\n${ps.map((p) => `${p.email},${p.name}`).join("\n")}\n`;
}

/** The current minute in the event's zone: a step `at` it is due at once (and late by < 60 s). */
export function nowMinute(zone = "America/Los_Angeles", plusMinutes = 0): string {
  return DateTime.now().setZone(zone).plus({ minutes: plusMinutes }).toFormat("yyyy-MM-dd HH:mm");
}

export const EVENT_YAML = (id: string) => `id: ${id}
title: Fault Institute ${id}
timezone: America/Los_Angeles
organizer:
  name: Fault Organizers
  email: org@faults.test
  domain: faults.test
contact:
  name: Pat Contact
  email: pat@faults.test
venue:
  name: Test Hall
registration:
  deadline: 2099-05-26
  url: https://faults.test/register
days:
  - date: 2099-06-20
    start: "09:00"
    end: "16:00"
    title: Day one
audiences:
  people:
    file: recipients/people.csv
registrations:
  file: recipients/registrations.csv
`;

/** One step of the kind every scenario uses: an announcement-free letter due `at`. */
export function letterStep(at: string, extra: object = {}): object {
  return {
    id: "letter",
    kind: "invitation-letter",
    audience: "people",
    subject: "Fault letter",
    trigger: { at },
    missedWindow: "1h",
    ...extra,
  };
}

export interface EventDir {
  id: string;
  dir: string;
  setSteps(steps: object[]): void;
  csvPath: string;
}

/** Writes a parent-relative event folder: event.yaml, campaign.yaml, people.csv, registrations. */
export function writeEvent(
  parent: string,
  id: string,
  ps: readonly Person[],
  steps: object[],
): EventDir {
  const dir = join(parent, id);
  mkdirSync(join(dir, "recipients"), { recursive: true });
  writeFileSync(join(dir, "event.yaml"), EVENT_YAML(id));
  writeFileSync(join(dir, "recipients/people.csv"), csvOf(ps));
  writeFileSync(join(dir, "recipients/registrations.csv"), "team,registered_at\n");
  const setSteps = (s: object[]) =>
    writeFileSync(join(dir, "campaign.yaml"), stringify({ steps: s }));
  setSteps(steps);
  return { id, dir, setSteps, csvPath: join(dir, "recipients/people.csv") };
}

export interface Relay {
  url: string;
  port: number;
  proc: Proc;
  mode(c: Command): Promise<void>;
  received(): Received;
  /** Connections recorded from now on: `since()` returns a counter function. */
  since(): () => number;
}

export interface RedisHandle {
  port: number;
  url: string;
  dir: string;
  proc: Proc;
  kill(): Promise<void>;
  start(): Promise<void>;
}

export interface WorkerEnv {
  [k: string]: string;
}

/** A scenario's processes, folders and captured output. */
export class Lab {
  readonly base: string;
  readonly capture: string;
  readonly events: string;
  private readonly procs: Proc[] = [];
  private readonly logs: WriteStream[] = [];
  private seq = 0;
  readonly started = Date.now();

  constructor(readonly name: string) {
    this.base = mkdtempSync(join(tmpdir(), `convene-faults-${name}-`));
    this.capture = join(this.base, "capture");
    this.events = join(this.base, "events");
    mkdirSync(this.capture);
    mkdirSync(this.events);
  }

  spawn(
    name: string,
    cmd: string,
    args: string[],
    env: Record<string, string | undefined> = {},
    stdin: "ignore" | "pipe" = "ignore",
  ): Proc {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: [stdin, "pipe", "pipe"],
    });
    const log = createWriteStream(
      join(this.capture, `${String(++this.seq).padStart(3, "0")}-${name}.log`),
    );
    this.logs.push(log);
    const lines: string[] = [];
    let buf = "";
    const onOut = (d: Buffer) => {
      log.write(d);
      buf += d.toString();
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      // Only the last lines are kept in memory; everything is in the capture file.
      lines.push(...parts);
      if (lines.length > 5_000) lines.splice(0, lines.length - 5_000);
    };
    child.stdout?.on("data", onOut);
    child.stderr?.on("data", onOut);
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const p: Proc = {
      name,
      child,
      lines,
      exited,
      alive: () => child.exitCode === null && child.signalCode === null,
    };
    this.procs.push(p);
    return p;
  }

  async redis(port: number): Promise<RedisHandle> {
    if (port < 6410 || port > 6429) throw new Error(`fault Redis ports are 6410-6429, not ${port}`);
    if (await portOpen(port)) throw new Error(`port ${port} is already in use`);
    const dir = join(this.base, `redis-${port}`);
    mkdirSync(dir, { recursive: true });
    const lab = this;
    const h: RedisHandle = {
      port,
      url: `redis://127.0.0.1:${port}`,
      dir,
      proc: undefined as unknown as Proc,
      async start() {
        h.proc = lab.spawn("redis", "redis-server", [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--dir",
          dir,
          "--appendonly",
          "yes",
          "--appendfsync",
          "always",
          "--save",
          "",
          "--protected-mode",
          "no",
          "--logfile",
          join(dir, "redis.log"),
        ]);
        await until(`redis-server on ${port}`, () => redisPing(port), 20_000, 100);
      },
      async kill() {
        h.proc.child.kill("SIGKILL");
        await h.proc.exited;
      },
    };
    await h.start();
    return h;
  }

  async relay(port: number, o: { secrets?: string[] } = {}): Promise<Relay> {
    const record = join(this.capture, `relay-${port}.jsonl`);
    writeFileSync(record, "");
    const proc = this.spawn(
      "smtp",
      process.execPath,
      ["--import", "tsx", SMTP_PROC],
      {
        FAULT_SMTP: JSON.stringify({
          port,
          record,
          user: SMTP_USER,
          pass: SMTP_PASS,
          secrets: o.secrets ?? SECRETS,
        }),
      },
      "pipe",
    );
    await until(
      "the relay listening",
      () => proc.lines.some((l) => l.includes('"listening"')),
      30_000,
      100,
    );
    let acks = 0;
    const read = (): { t: string; id?: string; leak?: number }[] =>
      readFileSync(record, "utf8")
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { t: string; id?: string; leak?: number });
    return {
      url: `smtp://${SMTP_USER}:${SMTP_PASS}@127.0.0.1:${port}?maxConnections=3`,
      port,
      proc,
      async mode(c) {
        const want = ++acks;
        proc.child.stdin?.write(`${JSON.stringify(c)}\n`);
        await until(
          `relay ack ${want}`,
          () => proc.lines.some((l) => l === `{"ack":${want}}`),
          10_000,
          50,
        );
      },
      received() {
        const counts = new Map<string, number>();
        let messages = 0;
        let connections = 0;
        let auths = 0;
        let leaks = 0;
        for (const r of read()) {
          if (r.t === "conn") connections++;
          else if (r.t === "auth") auths++;
          else if (r.t === "msg") {
            messages++;
            leaks += r.leak ?? 0;
            counts.set(r.id ?? "", (counts.get(r.id ?? "") ?? 0) + 1);
          }
        }
        return { counts, messages, connections, auths, leaks };
      },
      since() {
        const at = read().filter((r) => r.t === "conn").length;
        return () => read().filter((r) => r.t === "conn").length - at;
      },
    };
  }

  worker(name: string, args: string[], env: WorkerEnv): Proc {
    return this.spawn(name, process.execPath, [CLI, "worker", ...args], env);
  }

  /** Runs `convene <args>` from the build to completion (bounded), with its output captured. */
  async cli(
    args: string[],
    env: Record<string, string | undefined>,
    timeoutMs = 60_000,
    nodeArgs: string[] = [],
  ): Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
    ms: number;
    signal: string | null;
  }> {
    const t0 = Date.now();
    const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const p: Proc = {
      name: "cli",
      child,
      lines: [],
      exited: new Promise((r) => child.on("exit", (c) => r(c))),
      alive: () => child.exitCode === null && child.signalCode === null,
    };
    this.procs.push(p);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      if (stdout.length < 20_000_000) stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 20_000_000) stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const code = await p.exited;
    clearTimeout(timer);
    // Wait for the pipes to drain.
    await sleep(20);
    const i = this.procs.indexOf(p);
    if (i >= 0) this.procs.splice(i, 1);
    appendFileSync(
      join(this.capture, "cli.log"),
      `$ convene ${args.join(" ").slice(0, 500)}\n${stdout.slice(0, 200_000)}${stderr.slice(0, 200_000)}\n`,
    );
    return { code, stdout, stderr, ms: Date.now() - t0, signal: child.signalCode };
  }

  async plan(dir: string): Promise<SendJson[]> {
    const r = await this.cli(["plan", dir, "--json"], {});
    if (r.code !== 0) throw new Error(`convene plan failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as SendJson[];
  }

  async status(dir: string, env: Record<string, string>): Promise<Status> {
    const r = await this.cli(["status", dir, "--json", "--failures"], env);
    if (r.code !== 0) throw new Error(`convene status failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as Status;
  }

  /** Ledger states of every send, through `status`: sends the ledger marks unconfirmed. */
  static marked(st: Status): Set<string> {
    return new Set(
      (st.failures ?? [])
        .filter((f) => f.state === "unconfirmed" || (f.unconfirmed ?? 0) > 0)
        .map((f) => f.id),
    );
  }

  /** Kills every process still running (SIGKILL), waits for them, closes the capture files. */
  async close(): Promise<void> {
    for (const p of this.procs) if (p.alive()) p.child.kill("SIGKILL");
    await Promise.all(
      this.procs.map((p) =>
        p.child.exitCode === null && p.child.signalCode === null ? p.exited : null,
      ),
    );
    await Promise.all(this.logs.map((l) => new Promise<void>((r) => l.end(() => r()))));
  }

  /** Every captured byte: process output, CLI output, relay records, outbox files. */
  capturedFiles(): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else out.push(p);
      }
    };
    walk(this.capture);
    return out;
  }

  /** Files under the lab's folders (capture and outbox, not Redis' own data) holding a secret. */
  leaks(extraDirs: string[] = []): string[] {
    const files = [...this.capturedFiles()];
    for (const d of extraDirs)
      if (existsSync(d))
        for (const n of readdirSync(d, { recursive: true }) as string[]) {
          const p = join(d, n);
          if (statSync(p).isFile()) files.push(p);
        }
    return files.filter((f) => {
      const text = readFileSync(f, "latin1");
      return SECRETS.some((s) => text.includes(s));
    });
  }

  /** Removes the lab's folder, unless FAULTS_KEEP is set (then its path is printed). */
  remove(): void {
    if (process.env.FAULTS_KEEP) {
      process.stdout.write(`fault lab kept: ${this.base}\n`);
      return;
    }
    rmSync(this.base, { recursive: true, force: true });
  }
}

/** The environment of a `convene worker` child against a lab's Redis and relay. */
export function workerEnv(
  redis: RedisHandle,
  prefix: string,
  smtpUrl: string,
  extra: WorkerEnv = {},
): WorkerEnv {
  return {
    REDIS_URL: redis.url,
    CONVENE_PREFIX: prefix,
    SMTP_URL: smtpUrl,
    UNSUBSCRIBE_SECRET,
    // Required with SMTP_URL; nothing answers it, no fault test clicks the links.
    UNSUBSCRIBE_URL: "http://127.0.0.1:8090/unsubscribe",
    CONVENE_LOCK_MS: "2000",
    CONVENE_BACKOFF_MS: "200",
    CONVENE_BACKOFF_MAX_MS: "2000",
    CONVENE_SLOWDOWN_MS: "1000",
    CONVENE_SHUTDOWN_MS: "2000",
    CONVENE_PAUSE_RECHECK_MS: "500",
    CONVENE_ATTEMPTS: "30",
    CONVENE_LOG_LEVEL: "info",
    ...extra,
  };
}

/**
 * What was received against what was planned. `expected` are the send ids that must arrive
 * (all planned, minus those the scenario has the relay refuse for good). lost = expected ids the
 * relay never stored; a duplicate is any copy beyond the first, and each must be of a send the
 * ledger marks unconfirmed.
 */
export function reconcile(o: {
  scenario: string;
  planned: readonly string[];
  expected?: readonly string[];
  received: Received;
  marked: ReadonlySet<string>;
  started: number;
  note?: string;
}): Row & { lostIds: string[]; unmarkedDuplicates: string[]; strangers: string[] } {
  const expected = o.expected ?? o.planned;
  const planned = new Set(o.planned);
  const lostIds = expected.filter((id) => !o.received.counts.has(id));
  let duplicates = 0;
  const unmarkedDuplicates: string[] = [];
  const strangers: string[] = [];
  for (const [id, n] of o.received.counts) {
    if (!planned.has(id)) strangers.push(id);
    if (n > 1) {
      duplicates += n - 1;
      if (!o.marked.has(id)) unmarkedDuplicates.push(id);
    }
  }
  const row: Row = {
    scenario: o.scenario,
    planned: o.planned.length,
    received: o.received.messages,
    lost: lostIds.length,
    duplicates,
    unconfirmed: o.marked.size,
    seconds: Math.round((Date.now() - o.started) / 1000),
    ...(o.note ? { note: o.note } : {}),
  };
  appendFileSync(ROWS_FILE, `${JSON.stringify(row)}\n`);
  return { ...row, lostIds, unmarkedDuplicates, strangers };
}

/** A row for a scenario that is not about delivery counts (hostile definitions, secrets). */
export function summaryRow(row: Row): void {
  appendFileSync(ROWS_FILE, `${JSON.stringify(row)}\n`);
}

export function logged(p: Proc, msg: string): boolean {
  return p.lines.some((l) => l.includes(`"msg":"${msg}"`));
}

/**
 * The ledger records of an event, read directly (the SMTP attempt counts per send are not in
 * `status`): used to bound attempts while the relay is unreachable and cannot count them itself.
 */
export async function ledgerOf(
  redisUrl: string,
  prefix: string,
  event: string,
): Promise<LedgerRecord[]> {
  return withStores({ redisUrl, prefix }, async (s) => [...(await s.ledger.all(event)).values()]);
}

/** Suppressed addresses among `emails`, read through the store. */
export async function suppressedAmong(
  redisUrl: string,
  prefix: string,
  emails: readonly string[],
): Promise<string[]> {
  return withStores({ redisUrl, prefix }, async (s) => {
    const out: string[] = [];
    for (const e of emails) if (await s.suppressions.get(e)) out.push(e);
    return out;
  });
}

/** The part of what the relay received that belongs to one event (send ids start `<event>.`). */
export function forEvent(r: Received, event: string): Received {
  const counts = new Map([...r.counts].filter(([id]) => id.startsWith(`${event}.`)));
  let messages = 0;
  for (const n of counts.values()) messages += n;
  return { ...r, counts, messages };
}
