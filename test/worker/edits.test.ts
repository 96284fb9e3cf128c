/**
 * Organizers edit the audience while the worker runs: editors that save in place, recipients
 * removed and added back. Real Redis, a real SMTP server on loopback, real files.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createStores } from "../../src/store/index.js";
import type { LedgerRecord } from "../../src/store/ledger.js";
import type { RunningWorker } from "../../src/worker/worker.js";
import {
  deletePrefix,
  dueSoon,
  inProcessWorker,
  letterStep,
  type Person,
  people,
  sleep,
  startSmtp,
  testConfig,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "./fixture.js";

const hooks = testHooks();
const { cleanups } = hooks;

async function setup(ps: Person[], o: { inSeconds?: number; steps?: object[] } = {}) {
  const prefix = uniquePrefix();
  const soon = dueSoon(o.inSeconds ?? 3);
  const fx = writeEvent({
    people: ps,
    steps: o.steps ?? [letterStep()],
    registrations: [soon.registration],
  });
  const smtp = await startSmtp();
  cleanups.push(
    () => fx.cleanup(),
    () => smtp.close(),
    () => deletePrefix(prefix),
  );
  return {
    prefix,
    fx,
    smtp,
    stores: createStores(hooks.redis, prefix),
    config: testConfig(prefix, smtp.url),
  };
}

function keep(w: RunningWorker): RunningWorker {
  cleanups.push(() => w.close());
  return w;
}

async function records(prefix: string): Promise<LedgerRecord[]> {
  return [...(await createStores(hooks.redis, prefix).ledger.all("mini")).values()];
}

function csv(ps: Person[]): string {
  return `email,name,team\n${ps.map((p) => `${p.email},${p.name},${p.team ?? ""}`).join("\n")}\n`;
}

describe("an editor saving the audience CSV in place", () => {
  it("a tick that finds the file half-written acts on the previous definition, and loses no one", async () => {
    const ps = people(2_000);
    // Due in 30 minutes (inside the horizon): everything is queued, nothing goes out.
    const { prefix, fx, stores, config } = await setup(ps, {
      steps: [letterStep("letter", { trigger: { anchor: "registration", offset: "31m" } })],
    });
    const w = keep(
      inProcessWorker({
        paths: [fx.dir],
        config,
        processors: false,
        settings: { settleMs: 1_000 },
      }),
    );
    await w.ready;
    expect((await stores.ledger.pending("mini")).size).toBe(2_000);
    // The file has not changed for a while (a fixture written just now would still be settling).
    await sleep(1_100);

    // The editor truncates the file and has written the first 420 rows when the tick runs.
    const text = csv(ps);
    const cut = text.indexOf("\n", text.indexOf(ps[420]?.email as string));
    const fd = openSync(join(fx.dir, "recipients/people.csv"), "w");
    writeSync(fd, text.slice(0, cut + 1));
    const during = await w.scheduler?.tick();
    writeSync(fd, text.slice(cut + 1));
    closeSync(fd);
    expect(during?.[0]?.skipped).toBe(0);

    await sleep(1_100);
    const after = await w.scheduler?.tick();
    expect(after?.[0]?.skipped).toBe(0);
    const recs = await records(prefix);
    expect(recs.filter((r) => r.state !== "scheduled")).toEqual([]);
    expect(recs).toHaveLength(2_000);
  }, 30_000);
});

describe("a recipient removed and added back before the send expires", () => {
  it("is mailed exactly once, and status no longer says they were removed", async () => {
    const ps = people(4);
    const { prefix, fx, smtp, config } = await setup(ps, { inSeconds: 4 });
    const w = keep(inProcessWorker({ paths: [fx.dir], config }));
    await w.ready;
    const gone = ps[3] as Person;

    fx.setPeople(ps.slice(0, 3));
    const removed = await w.scheduler?.tick();
    expect(removed?.[0]?.skipped).toBe(1);
    const skipped = (await records(prefix)).find((r) => r.recipient === gone.email);
    expect(skipped?.state).toBe("skipped");
    expect(skipped?.reason).toMatch(/removed from audience people/);

    fx.setPeople(ps);
    const back = await w.scheduler?.tick();
    expect(back?.[0]?.queued).toBe(1);
    expect(back?.[0]?.replanned).toBe(1);
    const again = (await records(prefix)).find((r) => r.recipient === gone.email);
    expect(again?.state).toBe("scheduled");
    expect(again?.reason).toBeUndefined();

    await smtp.waitFor(4, 20_000);
    await until("all sent", async () => (await records(prefix)).every((r) => r.state === "sent"));
    await w.scheduler?.tick();
    await sleep(500);
    expect(smtp.received.map((r) => r.to).sort()).toEqual(ps.map((p) => p.email).sort());
  }, 30_000);

  it("a send the processor skipped as no longer planned goes out once the recipient is back", async () => {
    const ps = people(2);
    const { prefix, fx, smtp, config } = await setup(ps, { inSeconds: 3 });
    const sch = keep(inProcessWorker({ paths: [fx.dir], config, processors: false }));
    await sch.ready;
    // Removed after the jobs were queued; no tick in between, so the processor finds it gone.
    fx.setPeople(ps.slice(0, 1));
    keep(inProcessWorker({ paths: [fx.dir], config, scheduler: false }));
    await until("the processor skipped it", async () =>
      (await records(prefix)).some((r) => r.state === "skipped"),
    );
    const skipped = (await records(prefix)).find((r) => r.state === "skipped");
    expect(skipped?.recipient).toBe(ps[1]?.email);

    fx.setPeople(ps);
    const back = await sch.scheduler?.tick();
    expect(back?.[0]?.queued).toBe(1);
    await smtp.waitFor(2, 20_000);
    await until("both sent", async () => (await records(prefix)).every((r) => r.state === "sent"));
    await sleep(500);
    expect(smtp.received.map((r) => r.to).sort()).toEqual(ps.map((p) => p.email).sort());
  }, 30_000);

  it("back after the send expired: the removal stands and nothing is sent", async () => {
    const ps = people(2);
    const { prefix, fx, smtp, config } = await setup(ps, {
      steps: [letterStep("letter", { trigger: { anchor: "registration", offset: "1m" } })],
      inSeconds: 3,
    });
    let shift = 0;
    const { DateTime } = await import("luxon");
    const clock = () => DateTime.utc().plus({ milliseconds: shift });
    const sch = keep(inProcessWorker({ paths: [fx.dir], config, processors: false, clock }));
    await sch.ready;
    fx.setPeople(ps.slice(0, 1));
    await sch.scheduler?.tick();
    // Two hours later (the missed window is 1h), the recipient returns.
    shift = 2 * 3_600_000;
    fx.setPeople(ps);
    const back = await sch.scheduler?.tick();
    expect(back?.[0]?.queued).toBe(0);
    const rec = (await records(prefix)).find((r) => r.recipient === ps[1]?.email);
    expect(rec?.state).toBe("skipped");
    expect(smtp.received).toHaveLength(0);
  }, 30_000);
});
