/**
 * Worker benchmark: one `convene worker` process sends a 5,000-recipient step into a local
 * smtp-server; prints messages per second, the worker's peak RSS, and the ledger's Redis bytes
 * per send (measured on the real ledger, and on 100,000 synthetic records).
 *
 *   node --import tsx bench/worker.ts [--recipients 5000] [--concurrency 10] [--processes 1]
 *
 * Needs Redis (REDIS_URL, default 127.0.0.1:6379). Uses its own key prefix and deletes it.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { DateTime } from "luxon";
import { SMTPServer } from "smtp-server";
import { stringify } from "yaml";
import { keys } from "../src/store/keys.js";
import { Ledger, type TransitionRequest } from "../src/store/ledger.js";

const { values: args } = parseArgs({
  options: {
    recipients: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "10" },
    processes: { type: "string", default: "1" },
  },
});
const N = Number(args.recipients);
const ROOT = new URL("..", import.meta.url).pathname;
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const prefix = `convene-bench-${randomBytes(4).toString("hex")}`;
const redis = new Redis(REDIS_URL);

async function deletePrefix(p: string) {
  const stream = redis.scanStream({ match: `${p}:*`, count: 1000 });
  for await (const batch of stream as AsyncIterable<string[]>)
    if (batch.length) await redis.del(...batch);
}

function writeEvent(): string {
  const base = mkdtempSync(join(tmpdir(), "convene-bench-"));
  const dir = join(base, "mini");
  mkdirSync(join(dir, "recipients"), { recursive: true });
  const mini = join(ROOT, "test/fixtures/worker/mini");
  writeFileSync(join(dir, "event.yaml"), readFileSync(join(mini, "event.yaml")));
  const rows = Array.from({ length: N }, (_, i) => `p${i}@bench.test,Person ${i},t1`);
  writeFileSync(join(dir, "recipients/people.csv"), `email,name,team\n${rows.join("\n")}\n`);
  // Registered a minute ago, letter one minute after registration: due now, sent at start-up.
  const at = DateTime.utc().minus({ seconds: 60 }).toISO({ suppressMilliseconds: true });
  writeFileSync(join(dir, "recipients/registrations.csv"), `team,registered_at\nt1,${at}\n`);
  writeFileSync(
    join(dir, "campaign.yaml"),
    stringify({
      steps: [
        {
          id: "letter",
          kind: "invitation-letter",
          audience: "people",
          subject: "Bench letter",
          trigger: { anchor: "registration", offset: "1m" },
          missedWindow: "1h",
        },
      ],
    }),
  );
  return base;
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function measureSynthetic(count: number): Promise<number> {
  const p = `${prefix}-synthetic`;
  const ledger = new Ledger(redis, keys(p));
  const now = Date.now();
  const reqs: TransitionRequest[] = Array.from({ length: count }, (_, i) => ({
    id: `ca-lmi-2017.reminder-7d.${randomBytes(8).toString("hex")}`,
    from: ["none"],
    patch: {
      state: "sent",
      recipient: `superintendent${i}@district${i % 900}.k12.ca.us`,
      response: `250 2.0.0 OK ${now} ${randomBytes(6).toString("hex")} - gsmtp`,
      messageId: `<ca-lmi-2017.reminder-7d.${randomBytes(8).toString("hex")}@cdefoundation.org>`,
    },
  }));
  await ledger.transitionMany("ca-lmi-2017", reqs);
  const bytes = Number(
    await redis.call("MEMORY", "USAGE", keys(p).ledger("ca-lmi-2017"), "SAMPLES", "0"),
  );
  await deletePrefix(p);
  return bytes / count;
}

async function main() {
  let received = 0;
  let first = 0;
  let last = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _s, cb) {
      stream.on("data", () => {});
      stream.on("end", () => {
        received++;
        last = Date.now();
        if (!first) first = last;
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.server.address() as { port: number }).port;
  const base = writeEvent();
  const started = Date.now();
  const procs = Array.from({ length: Number(args.processes) }, () =>
    spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(ROOT, "src/cli.ts"),
        "worker",
        join(base, "mini"),
        "--concurrency",
        String(args.concurrency),
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          REDIS_URL,
          CONVENE_PREFIX: prefix,
          SMTP_URL: `smtp://127.0.0.1:${port}?maxConnections=5`,
          UNSUBSCRIBE_SECRET: process.env.UNSUBSCRIBE_SECRET || "convene-bench-unsubscribe-secret",
          CONVENE_LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "ignore", "inherit"],
      },
    ),
  );
  let peak = 0;
  while (received < N) {
    await new Promise((r) => setTimeout(r, 200));
    for (const p of procs) if (p.pid) peak = Math.max(peak, peakRssMb(p.pid));
    if (Date.now() - started > 600_000) throw new Error(`only ${received} of ${N} received`);
  }
  for (const p of procs) if (p.pid) peak = Math.max(peak, peakRssMb(p.pid));
  const ledgerKey = keys(prefix).ledger("mini");
  // Wait for the last ledger writes, then measure.
  while ((await redis.hlen(ledgerKey)) < N) await new Promise((r) => setTimeout(r, 100));
  const ledgerBytes = Number(await redis.call("MEMORY", "USAGE", ledgerKey, "SAMPLES", "0"));
  const sample = await redis.hget(ledgerKey, (await redis.hkeys(ledgerKey))[0] as string);
  const exits = procs.map((p) => new Promise<number | null>((r) => p.on("exit", r)));
  const stopAt = Date.now();
  for (const p of procs) p.kill("SIGTERM");
  const codes = await Promise.all(exits);
  const stopMs = Date.now() - stopAt;
  const synthetic = await measureSynthetic(100_000);

  const secs = (last - first) / 1000;
  const rows: [string, string][] = [
    ["recipients", String(N)],
    ["worker processes × concurrency", `${args.processes} × ${args.concurrency}`],
    ["first → last message", `${secs.toFixed(2)} s`],
    ["messages per second", (N / secs).toFixed(1)],
    [
      "start-up → last message",
      `${((last - started) / 1000).toFixed(2)} s (includes tsx start and planning)`,
    ],
    ["worker peak RSS (VmHWM, max over processes)", `${peak.toFixed(1)} MB`],
    ["ledger bytes per send (this run)", (ledgerBytes / N).toFixed(1)],
    ["ledger bytes per send (100,000 synthetic)", synthetic.toFixed(1)],
    ["sample ledger record", sample ?? ""],
    ["SIGTERM → exit", `${stopMs} ms, codes ${codes.join(",")}`],
  ];
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(46)} ${v}\n`);
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(base, { recursive: true, force: true });
  await deletePrefix(prefix);
  redis.disconnect();
}

main().catch(async (e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  await deletePrefix(prefix).catch(() => undefined);
  process.exit(1);
});
