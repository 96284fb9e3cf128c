/**
 * `convene worker` as real processes: several on one Redis, SIGTERM and restart, and a start
 * against the bundled (2017, entirely past) campaign.
 */
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { createStores } from "../../src/store/index.js";
import { createQueue } from "../../src/worker/queue.js";
import { idle } from "../support/clock.js";
import {
  convene,
  deletePrefix,
  dueSoon,
  letterStep,
  people,
  REDIS_URL,
  ROOT,
  spawnWorker,
  startSmtp,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "./fixture.js";

const hooks = testHooks();
const { cleanups, children } = hooks;

interface Proc {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function worker(args: string[], env: Record<string, string>): Proc {
  const child = spawnWorker(children, args, env, "pipe");
  const lines: string[] = [];
  let buf = "";
  child.stdout?.on("data", (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split("\n");
    buf = parts.pop() ?? "";
    lines.push(...parts);
  });
  child.stderr?.on("data", (d: Buffer) => lines.push(d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, lines, exited };
}

/** Scheduler ticks the process has logged ("mini: 500 planned, …" once a tick). */
function ticks(p: Proc): number {
  return p.lines.filter((l) => l.includes('"msg":"mini: ')).length;
}

/** Waits until the prefix's queue has no job at all (delayed included), from outside the workers. */
async function idleQueue(prefix: string): Promise<void> {
  const queue = createQueue(hooks.redis, `${prefix}:bull`);
  try {
    await idle(queue);
  } finally {
    await queue.close();
  }
}

/** Resolves with the exit code, or fails if the process is still running after `ms`. */
async function exitWithin(p: Proc, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`still running ${ms} ms after the signal`)), ms);
  });
  try {
    return await Promise.race([p.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function status(dir: string, prefix: string, extra: string[] = []) {
  return JSON.parse(await convene(["status", dir, "--json", ...extra], prefix)) as {
    event: string;
    steps: {
      step: string;
      kind: string;
      planned: number;
      states: Record<string, number>;
      nextDue: string | null;
    }[];
    failures?: { state: string; recipient: string; reason: string }[];
  };
}

describe("convene worker processes", () => {
  it("three workers on one Redis deliver a 500-recipient step with no duplicate and no loss", async () => {
    const prefix = uniquePrefix();
    const smtp = await startSmtp();
    const soon = dueSoon(10);
    const fx = writeEvent({
      people: people(500),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix),
    );
    const env = {
      REDIS_URL,
      CONVENE_PREFIX: prefix,
      SMTP_URL: smtp.url,
      CONVENE_LOG_LEVEL: "info",
      // Each scheduler queues 50 at most and the rest as the senders make room: three of them
      // topping up the one queue side by side must still queue each send once.
      CONVENE_QUEUE_AHEAD: "50",
    };
    // Every process also runs a scheduler: three schedulers must still queue each send once.
    // The first assembles its messages in a thread (CONVENE_MIME_THREADS), the built entry;
    // the second bounds its heap's growth (CONVENE_HEAP_GROWTH).
    const tuned: Record<string, string>[] = [
      { CONVENE_MIME_THREADS: "1" },
      { CONVENE_HEAP_GROWTH: "20" },
      {},
    ];
    const procs = tuned.map((t) => worker([fx.dir, "--cron", "*/2 * * * * *"], { ...env, ...t }));

    await smtp.waitFor(500, 90_000);
    const stores = createStores(hooks.redis, prefix);
    await until(
      "all 500 recorded sent",
      async () => {
        const all = await stores.ledger.all("mini");
        return [...all.values()].filter((r) => r.state === "sent").length === 500;
      },
      30_000,
    );
    // Every scheduler ticks twice more, and the queue is empty: nothing more may go out.
    const seen = procs.map(ticks);
    await until(
      "two more ticks of every scheduler",
      () => procs.every((p, i) => ticks(p) >= (seen[i] ?? 0) + 2),
      30_000,
    );
    await idleQueue(prefix);
    await smtp.waitFor(500);

    expect(smtp.received).toHaveLength(500);
    expect(new Set(smtp.received.map((r) => r.sendId)).size).toBe(500);
    expect(new Set(smtp.received.map((r) => r.to)).size).toBe(500);
    // The work was actually shared.
    const senders = procs.filter((p) => p.lines.some((l) => l.includes('"msg":"send sent"')));
    expect(senders.length).toBeGreaterThan(1);
    const threaded = procs[0]?.lines ?? [];
    expect(threaded.find((l) => l.includes("convene worker started"))).toContain('"mimeThreads":1');
    expect(threaded.some((l) => l.includes('"msg":"send sent"'))).toBe(true);
    expect(threaded.filter((l) => l.includes("assembly thread"))).toEqual([]);
    const bounded = procs[1]?.lines ?? [];
    expect(bounded.find((l) => l.includes("convene worker started"))).toContain(
      '"heapGrowthPercent":20',
    );
    // The setting reached the processes, so the sends above were held and topped up.
    expect(bounded.find((l) => l.includes("convene worker started"))).toContain('"queueAhead":50');
    expect(procs.some((p) => p.lines.some((l) => /"held":[1-9]/.test(l)))).toBe(true);

    for (const p of procs) p.child.kill("SIGTERM");
    for (const p of procs) expect(await exitWithin(p, 15_000)).toBe(0);

    const st = await status(fx.dir, prefix);
    expect(st.steps).toEqual([
      {
        step: "letter",
        kind: "invitation-letter",
        planned: 500,
        states: {
          scheduled: 0,
          sending: 0,
          sent: 500,
          failed: 0,
          skipped: 0,
          suppressed: 0,
          missed: 0,
          unconfirmed: 0,
          bounced: 0,
        },
        nextDue: null,
      },
    ]);
  }, 150_000);

  it("SIGTERM mid-campaign, then a restart: nothing lost, nothing sent twice", async () => {
    const prefix = uniquePrefix();
    const smtp = await startSmtp();
    const soon = dueSoon(8);
    const fx = writeEvent({
      people: people(150),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix),
    );
    // A global rate keeps the campaign running long enough to be interrupted.
    const env = { REDIS_URL, CONVENE_PREFIX: prefix, SMTP_URL: smtp.url, SEND_RATE: "25" };
    const first = worker([fx.dir], env);
    await until("some mail sent", () => smtp.received.length >= 20, 60_000);
    first.child.kill("SIGTERM");
    expect(await exitWithin(first, 15_000)).toBe(0);
    const before = smtp.received.length;
    expect(before).toBeLessThan(150);

    const second = worker([fx.dir], env);
    await smtp.waitFor(150, 60_000);
    const stores = createStores(hooks.redis, prefix);
    await until(
      "all recorded",
      async () =>
        [...(await stores.ledger.all("mini")).values()].filter((r) => r.state === "sent").length ===
        150,
    );
    // No job left in the queue: nothing more can go out.
    await idleQueue(prefix);
    await smtp.waitFor(150);
    expect(smtp.received).toHaveLength(150);
    expect(new Set(smtp.received.map((r) => r.to)).size).toBe(150);
    second.child.kill("SIGTERM");
    expect(await exitWithin(second, 15_000)).toBe(0);
  }, 120_000);

  it("a worker killed mid-SMTP: its in-flight sends are marked unconfirmed and sent again; everyone gets it, duplicates only among marked sends", async () => {
    const prefix = uniquePrefix();
    // The relay stores each message and answers 250 only after 1.5 s, so sends are in flight.
    const smtp = await startSmtp(undefined, { holdMs: 1_500 });
    const soon = dueSoon(6);
    const ps = people(40);
    const fx = writeEvent({
      people: ps,
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix),
    );
    const env = { REDIS_URL, CONVENE_PREFIX: prefix, SMTP_URL: smtp.url, CONVENE_LOCK_MS: "2000" };
    const first = worker([fx.dir], env);
    await until("some mail received", () => smtp.received.length >= 5, 60_000);
    first.child.kill("SIGKILL");
    await first.exited;
    const stores = createStores(hooks.redis, prefix);
    const cutOff = [...(await stores.ledger.all("mini")).values()].filter(
      (r) => r.state === "sending",
    ).length;
    expect(cutOff).toBeGreaterThan(0);

    const second = worker([fx.dir], env);
    await until(
      "every send sent",
      async () => {
        const all = [...(await stores.ledger.all("mini")).values()];
        return all.length === 40 && all.every((r) => r.state === "sent");
      },
      60_000,
    );
    await smtp.waitFor(40);
    const all = [...(await stores.ledger.all("mini")).values()];
    const marked = new Set(all.filter((r) => r.unconfirmed).map((r) => r.recipient));
    // The sends cut off in SMTP, and only they, carry the marker.
    expect(marked.size).toBe(cutOff);
    const counts = new Map<string, number>();
    for (const r of smtp.received) counts.set(r.to, (counts.get(r.to) ?? 0) + 1);
    // Nothing lost; a second copy only where the ledger says acceptance was unknown.
    for (const p of ps) expect(counts.get(p.email) ?? 0).toBeGreaterThanOrEqual(1);
    for (const [to, n] of counts) if (n > 1) expect(marked.has(to)).toBe(true);
    const st = await status(fx.dir, prefix, ["--failures"]);
    expect(st.steps[0]?.states.sent).toBe(40);
    expect(st.steps[0]?.planned).toBe(40);
    expect(st.failures?.map((f) => f.recipient).sort()).toEqual([...marked].sort());
    for (const f of st.failures ?? []) {
      expect(f.state).toBe("sent");
      expect(f.reason).toMatch(/sent, possibly twice/);
    }
    second.child.kill("SIGTERM");
    expect(await exitWithin(second, 15_000)).toBe(0);
  }, 120_000);

  it("against the bundled 2017 campaign: sends nothing, records every send missed, exits 0 on SIGTERM", async () => {
    const prefix = uniquePrefix();
    const smtp = await startSmtp();
    cleanups.push(
      () => smtp.close(),
      () => deletePrefix(prefix),
    );
    const dir = join(ROOT, "events/ca-lmi-2017");
    const p = worker([dir], { REDIS_URL, CONVENE_PREFIX: prefix, SMTP_URL: smtp.url });
    await until(
      "the start-up tick",
      () => p.lines.some((l) => l.includes('"msg":"ca-lmi-2017: ')),
      60_000,
    );
    p.child.kill("SIGTERM");
    expect(await exitWithin(p, 15_000)).toBe(0);
    expect(smtp.received).toHaveLength(0);
    expect(smtp.rcptAttempts()).toBe(0);
    // No credentials or URL secrets in the logs (the SMTP URL here has none, the Redis one neither;
    // the start line must still name where mail goes).
    expect(p.lines.some((l) => l.includes("convene worker started"))).toBe(true);

    const st = await status(dir, prefix, ["--failures"]);
    expect(st.event).toBe("ca-lmi-2017");
    expect(st.steps.length).toBe(loadEventOrThrow(dir, KINDS).campaign.steps.length);
    let planned = 0;
    for (const s of st.steps) {
      expect(s.planned).toBeGreaterThan(0);
      expect(s.states.missed).toBe(s.planned);
      expect(Object.values(s.states).reduce((a, b) => a + b, 0)).toBe(s.planned);
      expect(s.nextDue).toBeNull();
      planned += s.planned;
    }
    expect(st.failures).toHaveLength(planned);
    // Recorded in the ledger by the worker, not only computed by status.
    const stores = createStores(hooks.redis, prefix);
    expect((await stores.ledger.all("ca-lmi-2017")).size).toBe(planned);
  }, 90_000);
});
