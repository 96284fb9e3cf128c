/**
 * The delivery guarantees of the README's "What happens to each send", on a real Redis Cluster
 * (three masters, three replicas): every recipient exactly once, several workers, a slow-down
 * that holds across every event's queue, pause and resume, a calendar update, and SEND_RATE
 * across two events' queues.
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import ICAL from "ical.js";
import { DateTime } from "luxon";
import { SMTPServer } from "smtp-server";
import { describe, expect, it } from "vitest";
import { createStores, type Stores } from "../../src/store/index.js";
import type { RunningWorker } from "../../src/worker/worker.js";
import {
  deletePrefix,
  dueSoon,
  inProcessWorker,
  letterStep,
  type Person,
  people,
  type RcptPolicy,
  type Received,
  ROOT,
  startSmtp,
  testConfig,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "../worker/fixture.js";
import { clusterHooks } from "./harness.js";

const cluster = clusterHooks();
const hooks = testHooks();
const { cleanups } = hooks;

function start(w: RunningWorker): RunningWorker {
  cleanups.push(() => w.close());
  return w;
}

/** A loopback SMTP server, a prefix and events (ids given), all removed after the test. */
async function setup(o: {
  events: { id: string; people: Person[]; steps?: object[] }[];
  dueIn?: number;
  /** More teams registered, each this many seconds after the first ("t1"). */
  later?: { team: string; afterS: number }[];
  policy?: RcptPolicy;
  sendRate?: number;
}) {
  const smtp = await startSmtp(o.policy);
  const prefix = uniquePrefix();
  const soon = dueSoon(o.dueIn ?? 3);
  const fxs = o.events.map((e) =>
    writeEvent({
      id: e.id,
      people: e.people,
      steps: e.steps ?? [letterStep()],
      // Only the teams of this event's audience: another team would be a definition error.
      registrations: [
        soon.registration,
        ...(o.later ?? []).map((l) => ({
          team: l.team,
          at: soon.registration.at.plus({ seconds: l.afterS }),
        })),
      ].filter((r) => e.people.some((p) => (p.team ?? "t1") === r.team)),
    }),
  );
  cleanups.push(
    () => {
      for (const fx of fxs) fx.cleanup();
    },
    () => smtp.close(),
    () => deletePrefix(prefix, cluster.get().url),
  );
  const config = testConfig(prefix, smtp.url, {
    redisUrl: cluster.get().url,
    ...(o.sendRate ? { sendRate: o.sendRate } : {}),
  });
  const stores: Stores = createStores(cluster.redis(), prefix);
  return { smtp, prefix, fxs, config, stores, due: soon.due };
}

async function states(stores: Stores, event: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of (await stores.ledger.all(event)).values()) out[r.state] = (out[r.state] ?? 0) + 1;
  return out;
}

async function allSent(stores: Stores, event: string, n: number, timeoutMs = 60_000) {
  await until(
    `${event}: ${n} sent`,
    async () => (await states(stores, event)).sent === n,
    timeoutMs,
  );
}

describe("delivery on a Redis Cluster", () => {
  it("reaches every recipient exactly once and records sent, the keys under the event's hash tag", async () => {
    const { smtp, fxs, config, stores, prefix, due } = await setup({
      events: [{ id: "mini", people: people(25) }],
    });
    const w = start(inProcessWorker({ paths: fxs.map((f) => f.dir), config }));
    await w.ready;
    await w.scheduler?.tick();
    await smtp.waitFor(25);
    await allSent(stores, "mini", 25);

    expect(smtp.received.map((r) => r.to).sort()).toEqual(
      people(25)
        .map((p) => p.email)
        .sort(),
    );
    for (const r of smtp.received)
      expect(r.mail.date?.getTime() ?? 0).toBeGreaterThanOrEqual(due.toMillis() - 1000);
    for (const rec of (await stores.ledger.all("mini")).values()) expect(rec.attempts).toBe(1);
    expect(await stores.ledger.pending("mini")).toEqual(new Map());
    // The ledger and the queue live under the event's tag, so they share one slot.
    expect(stores.keys.ledger("mini")).toBe(`{${prefix}:mini}:ledger`);
    expect(w.queues.of("mini").keys.wait).toBe(`{${prefix}:mini}:bull:sends:wait`);
    expect(await cluster.redis().exists(stores.keys.ledger("mini"))).toBe(1);
  });

  it("three workers on a 500-recipient step (two without a scheduler): everyone exactly once", async () => {
    const n = 500;
    const { smtp, fxs, config, stores } = await setup({
      events: [{ id: "mini", people: people(n) }],
      dueIn: 4,
    });
    const paths = fxs.map((f) => f.dir);
    const a = start(inProcessWorker({ paths, config }));
    // These two only consume: they find the event's queue through the list of event queues.
    const b = start(inProcessWorker({ paths, config, scheduler: false }));
    const c = start(inProcessWorker({ paths, config, scheduler: false }));
    await Promise.all([a.ready, b.ready, c.ready]);
    await smtp.waitFor(n, 120_000);
    await allSent(stores, "mini", n);
    const to = smtp.received.map((r) => r.to);
    expect(new Set(to).size).toBe(n);
    expect(to.length).toBe(n);
    const recs = [...(await stores.ledger.all("mini")).values()];
    expect(recs.filter((r) => r.unconfirmed).length).toBe(0);
    // Each worker consumed the event's queue (its own BullMQ Worker on it).
    for (const w of [a, b, c]) expect(w.workers().length).toBe(1);
  });

  it("a 451 through one event's queue holds every event's queue, then 250: all delivered once", async () => {
    const slowDownMs = 6_000;
    const waveGapS = 2;
    let refusedAt: number | undefined;
    const arrivals: { to: string; at: number }[] = [];
    // ev-a's first recipient is due first, alone; everyone else (both events) waveGapS later, so
    // that no send is in flight anywhere when the 451 comes.
    const { smtp, fxs, config, stores, due } = await setup({
      events: [
        { id: "ev-a", people: people(6, (i) => (i === 0 ? "t1" : "rest")) },
        {
          id: "ev-b",
          people: people(6, () => "rest").map((p) => ({ ...p, email: `b-${p.email}` })),
        },
      ],
      later: [{ team: "rest", afterS: waveGapS }],
      policy: (address) => {
        if (refusedAt === undefined) {
          refusedAt = Date.now();
          return { code: 451, message: "4.7.1 slow down" };
        }
        arrivals.push({ to: address, at: Date.now() });
        return undefined;
      },
    });
    const settings = { slowDownMs, sendRate: 0 };
    const paths = fxs.map((f) => f.dir);
    start(inProcessWorker({ paths, config, settings }));
    start(inProcessWorker({ paths, config, settings, scheduler: false }));
    await smtp.waitFor(12, 60_000);
    await allSent(stores, "ev-a", 6);
    await allSent(stores, "ev-b", 6);
    expect(refusedAt).toBeDefined();
    expect(refusedAt as number).toBeLessThan(due.toMillis() + waveGapS * 1000);
    // Nothing, from either event's queue, got through in the slow-down (1 s margin for timers).
    const early = arrivals.filter(
      (a) => a.at >= (refusedAt as number) && a.at < (refusedAt as number) + slowDownMs - 1_000,
    );
    expect(early).toEqual([]);
    expect(new Set(smtp.received.map((r) => r.to)).size).toBe(12);
    expect(smtp.received.length).toBe(12);
    const firstRec = [...(await stores.ledger.all("ev-a")).values()].find(
      (r) => r.recipient === "person00000@people.test",
    );
    expect(firstRec?.attempts).toBe(2);
  });

  it("pause holds the sends past their due time; `convene resume` on the cluster releases them", async () => {
    const { smtp, fxs, config, stores, prefix, due } = await setup({
      events: [{ id: "mini", people: people(5) }],
    });
    await stores.control.pause("mini");
    const w = start(inProcessWorker({ paths: fxs.map((f) => f.dir), config }));
    await w.ready;
    // Past the due time, the paused sends wait: they are re-checked and delayed, not sent.
    await until("past the due time", () => Date.now() > due.toMillis() + 1_500, 20_000);
    await until(
      "the paused jobs to be waiting in the delayed set",
      async () => (await w.queues.of("mini").getDelayedCount()) === 5,
      20_000,
    );
    expect(smtp.received.length).toBe(0);
    expect((await states(stores, "mini")).scheduled).toBe(5);

    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli.ts"), "resume", fxs[0]?.dir ?? ""],
      { cwd: ROOT, env: { ...process.env, REDIS_URL: config.redisUrl, CONVENE_PREFIX: prefix } },
    );
    expect(stdout).toMatch(/^Resumed all of mini/);
    await smtp.waitFor(5);
    await allSent(stores, "mini", 5);
    expect(new Set(smtp.received.map((r) => r.to)).size).toBe(5);
  });

  it("a time change after the invites went out sends each holder an update with a higher SEQUENCE", async () => {
    const { smtp, fxs, config, stores } = await setup({
      events: [
        {
          id: "mini",
          people: people(3),
          steps: [
            {
              id: "invite",
              kind: "calendar-invite",
              audience: "people",
              trigger: { anchor: "registration", offset: "1m" },
              when: { registered: true },
              items: ["day-2099-06-20"],
              missedWindow: "1h",
            },
          ],
        },
      ],
    });
    const fx = fxs[0] as (typeof fxs)[number];
    const w = start(inProcessWorker({ paths: [fx.dir], config }));
    await smtp.waitFor(3);
    await allSent(stores, "mini", 3);
    const first = smtp.received.map(vevent);
    expect(first.map((v) => [v.method, v.sequence])).toEqual(Array(3).fill(["REQUEST", 0]));

    const file = join(fx.dir, "event.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace('start: "09:00"', 'start: "10:00"'));
    await w.scheduler?.tick();
    await smtp.waitFor(6);
    const updates = smtp.received.slice(3).map(vevent);
    for (const u of updates) {
      expect(u.method).toBe("REQUEST");
      expect(u.sequence).toBe(1);
      expect(first.map((f) => f.uid)).toContain(u.uid);
      expect(u.start).toBe(
        DateTime.fromISO("2099-06-20T10:00", { zone: "America/Los_Angeles" }).toMillis(),
      );
    }
    expect(new Set(smtp.received.slice(3).map((r) => r.to)).size).toBe(3);
    await w.scheduler?.tick();
    expect((await stores.ledger.all("mini")).size).toBe(6);
    expect(await stores.calendar.sequence("mini", "day-2099-06-20")).toBe(1);
  });

  it("SEND_RATE holds across two events' queues and two workers", async () => {
    const rate = 4;
    const arrivals: number[] = [];
    const { smtp, fxs, config, stores } = await setup({
      events: [
        { id: "ev-a", people: people(8) },
        { id: "ev-b", people: people(8).map((p) => ({ ...p, email: `b-${p.email}` })) },
      ],
      sendRate: rate,
      policy: () => {
        arrivals.push(Date.now());
        return undefined;
      },
    });
    const settings = { sendRate: rate };
    const paths = fxs.map((f) => f.dir);
    const a = start(inProcessWorker({ paths, config, settings }));
    start(inProcessWorker({ paths, config, settings, scheduler: false }));
    await smtp.waitFor(16, 60_000);
    await allSent(stores, "ev-a", 8);
    await allSent(stores, "ev-b", 8);
    // Two queues (one per event), each consumed by both workers.
    expect(new Set(a.queues.all().map((q) => q.keys.wait)).size).toBe(2);
    // Any `rate` + 1 consecutive sends span at least a second (less a little for SMTP timing):
    // per-queue limiting alone would let both queues send `rate` a second each.
    arrivals.sort((x, y) => x - y);
    const spans = arrivals.slice(rate).map((t, i) => t - (arrivals[i] as number));
    expect(Math.min(...spans)).toBeGreaterThanOrEqual(850);
    expect(smtp.received.length).toBe(16);
  });
});

describe("SMTP credentials refused on a cluster", () => {
  it("a 535 pauses every event's queue, keeps every send scheduled; a restart with the server fixed resumes all", async () => {
    let accept = false;
    const received: string[] = [];
    const server = new SMTPServer({
      disabledCommands: ["STARTTLS"],
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, _session, cb) {
        if (accept) cb(null, { user: auth.username });
        else cb(new Error("Authentication credentials invalid"));
      },
      onData(stream, session, cb) {
        stream.on("data", () => undefined);
        stream.on("end", () => {
          received.push(session.envelope.rcptTo[0]?.address ?? "");
          cb();
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.server.address() as { port: number }).port;
    // ev-b is due 4 s after ev-a: its queue must be paused by ev-a's halt, not by its own.
    const { fxs, stores, config, due } = await setup({
      events: [
        { id: "ev-a", people: people(4) },
        {
          id: "ev-b",
          people: people(4, () => "later").map((p) => ({ ...p, email: `b-${p.email}` })),
        },
      ],
      later: [{ team: "later", afterS: 4 }],
    });
    const smtpConfig = { ...config, smtpUrl: `smtp://convene:pw@127.0.0.1:${port}` };
    const paths = fxs.map((f) => f.dir);
    const w = inProcessWorker({ paths, config: smtpConfig });
    await w.ready;
    await until("the halt", async () => (await stores.smtp.halted()) !== undefined, 30_000);
    await until(
      "both event queues paused",
      async () => (await w.queues.of("ev-a").isPaused()) && (await w.queues.of("ev-b").isPaused()),
      10_000,
    );
    // Past ev-b's due time: its sends wait in the paused queue, still scheduled.
    await until("past ev-b's due time", async () => Date.now() > due.toMillis() + 5_000, 15_000);
    for (const ev of ["ev-a", "ev-b"]) expect(await states(stores, ev)).toEqual({ scheduled: 4 });
    expect(received).toEqual([]);

    await w.close();
    accept = true;
    start(inProcessWorker({ paths, config: smtpConfig }));
    await allSent(stores, "ev-a", 4);
    await allSent(stores, "ev-b", 4);
    expect(received.length).toBe(8);
    expect(new Set(received).size).toBe(8);
    expect(await stores.smtp.halted()).toBeUndefined();
  });
});

function vevent(r: Received) {
  const cal = r.mail.attachments.find((a) => a.contentType === "text/calendar");
  expect(cal).toBeDefined();
  const comp = new ICAL.Component(ICAL.parse(cal?.content.toString("utf8") ?? ""));
  const ev = comp.getFirstSubcomponent("vevent");
  if (!ev) throw new Error("no VEVENT in the calendar part");
  return {
    method: comp.getFirstPropertyValue("method"),
    sequence: Number(ev.getFirstPropertyValue("sequence")),
    uid: String(ev.getFirstPropertyValue("uid")),
    start: (ev.getFirstPropertyValue("dtstart") as ICAL.Time).toJSDate().getTime(),
  };
}
