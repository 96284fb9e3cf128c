/**
 * Defects found by the adversarial review of the cluster support (issue 15), each tested on a
 * real cluster where it showed: a worker that could never find an event's queue again, a
 * CONVENE_PREFIX that put every event back on one slot, and a ledger copied from one Redis under
 * its old name that the cluster layout would not see (everyone mailed again), and an SMTP AUTH
 * halt that did not hold an event whose queue was opened after it, and a claim that failed
 * instead of following its slot to another master.
 */
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DateTime } from "luxon";
import pino from "pino";
import { SMTPServer } from "smtp-server";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { createStores } from "../../src/store/index.js";
import { connectRedis } from "../../src/store/redis.js";
import { runCli } from "../support/cli.js";
import {
  deletePrefix,
  dueSoon,
  inProcessWorker,
  letterStep,
  people,
  startSmtp,
  testConfig,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "../worker/fixture.js";
import { clusterHooks, keySlot } from "./harness.js";

const cluster = clusterHooks();
const hooks = testHooks();
const { cleanups } = hooks;

describe("review of the cluster support", () => {
  it("an event dropped from the list of queues (SREM) that gets a new step is listed again: a worker started later sends it", async () => {
    const smtp = await startSmtp();
    const prefix = uniquePrefix();
    const soon = dueSoon(3);
    const fx = writeEvent({
      people: people(3),
      steps: [letterStep("first")],
      registrations: [soon.registration],
    });
    cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix, cluster.get().url),
    );
    const config = testConfig(prefix, smtp.url, { redisUrl: cluster.get().url });
    const stores = createStores(cluster.redis(), prefix);
    // A scheduler-only process and a sender without a scheduler: the sender finds the event's
    // queue only through the list of event queues.
    const scheduler = inProcessWorker({ paths: [fx.dir], config, processors: false });
    cleanups.push(() => scheduler.close());
    const first = inProcessWorker({ paths: [fx.dir], config, scheduler: false });
    await Promise.all([scheduler.ready, first.ready]);
    await smtp.waitFor(3);
    await first.close();

    // The README's way to drop a finished event from the list; then the campaign grows a step.
    await cluster.redis().srem(stores.keys.eventQueues(), "mini");
    fx.setSteps([letterStep("first"), letterStep("second")]);
    await scheduler.scheduler?.tick();
    expect(await stores.eventQueues.list()).toContain("mini");

    const later = inProcessWorker({ paths: [fx.dir], config, scheduler: false });
    cleanups.push(() => later.close());
    await until("the second step's three sends", () => smtp.received.length >= 6, 20_000);
    const second = [...(await stores.ledger.all("mini")).entries()].filter(
      ([id, r]) => id.includes(".second.") && r.state === "sent",
    );
    expect(second).toHaveLength(3);
  });

  it("CONVENE_PREFIX={convene} is refused on a cluster in one line, before anything connects", () => {
    const r = runCli(["status", "test/fixtures/worker/mini"], {
      REDIS_URL: cluster.get().url,
      CONVENE_PREFIX: "{convene}",
    });
    expect(r.stderr).toMatch(/CONVENE_PREFIX must not contain \{ or \} on a Redis Cluster/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status).toBe(1);
  });

  it("a ledger copied over under its single-Redis name: nothing is scheduled for the event, said in the log; once copied under the cluster name, only the rest goes out", async () => {
    const smtp = await startSmtp();
    const prefix = uniquePrefix();
    const soon = dueSoon(2);
    const fx = writeEvent({
      people: people(5),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix, cluster.get().url),
    );
    const redis = cluster.redis();
    const stores = createStores(redis, prefix);
    const def = loadEventOrThrow(fx.dir, KINDS);
    const sends = plan(def, def.registrations, DateTime.utc());
    expect(sends).toHaveLength(5);
    // What a key-by-key migration from one Redis leaves: three sends already made, old name.
    const at = Date.now() - 86_400_000;
    const made = Object.fromEntries(
      sends
        .slice(0, 3)
        .map((s) => [
          s.id,
          JSON.stringify({ s: "sent", n: 1, e: s.recipient, q: at, t: at, r: "250 OK", k: s.kind }),
        ]),
    );
    await redis.hset(`${prefix}:ledger:mini`, made);

    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
    const config = testConfig(prefix, smtp.url, { redisUrl: cluster.get().url });
    const w = inProcessWorker({ paths: [fx.dir], config, log });
    cleanups.push(() => w.close());
    await w.ready;
    expect(await w.scheduler?.tick()).toEqual([]);
    expect(lines.some((l) => l.includes(`single-Redis name ${prefix}:ledger:mini`))).toBe(true);
    expect(await redis.exists(stores.keys.ledger("mini"))).toBe(0);
    const counts = await w.queues.of("mini").getJobCounts("waiting", "delayed", "active");
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);

    // Copied under the cluster name: the next tick plans the event, and only two go out.
    await redis.hset(stores.keys.ledger("mini"), made);
    await w.scheduler?.tick();
    await smtp.waitFor(2);
    await until("two sent", async () => {
      const recs = [...(await stores.ledger.all("mini")).values()];
      return recs.filter((r) => r.state === "sent" && r.at > at).length === 2;
    });
    expect(smtp.received.map((r) => r.to).sort()).toEqual(
      sends
        .slice(3)
        .map((s) => s.recipient)
        .sort(),
    );
  });

  it("after an AUTH halt, an event first queued later (by another worker) is held too: no new login attempt", async () => {
    let logins = 0;
    const server = new SMTPServer({
      disabledCommands: ["STARTTLS"],
      allowInsecureAuth: true,
      logger: false,
      onAuth(_auth, _session, cb) {
        logins++;
        cb(new Error("Authentication credentials invalid"));
      },
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.server.address() as { port: number }).port;
    const prefix = uniquePrefix();
    const soon = dueSoon(3);
    const a = writeEvent({
      id: "ev-a",
      people: people(1),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    const b = writeEvent({
      id: "ev-b",
      people: people(3).map((p) => ({ ...p, email: `b-${p.email}` })),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    // Worker B's folder of events is empty until after the halt.
    const folder = mkdtempSync(join(tmpdir(), "convene-review-events-"));
    cleanups.push(
      () => a.cleanup(),
      () => b.cleanup(),
      () => rmSync(folder, { recursive: true, force: true }),
      () => deletePrefix(prefix, cluster.get().url),
    );
    const config = testConfig(prefix, `smtp://convene:pw@127.0.0.1:${port}`, {
      redisUrl: cluster.get().url,
    });
    const stores = createStores(cluster.redis(), prefix);
    const wa = inProcessWorker({ paths: [a.dir], config });
    const wb = inProcessWorker({ paths: [folder], config });
    cleanups.push(
      () => wa.close(),
      () => wb.close(),
    );
    await Promise.all([wa.ready, wb.ready]);
    await until("the halt", async () => (await stores.smtp.halted()) !== undefined, 30_000);
    await until("ev-a's queue paused", () => wa.queues.of("ev-a").isPaused(), 10_000);
    await until("ev-a's send back to scheduled", async () => {
      const recs = [...(await stores.ledger.all("ev-a")).values()];
      return recs.length === 1 && recs[0]?.state === "scheduled";
    });
    const before = logins;

    // A new event reaches worker B: its first tick opens ev-b's queue, after the halt.
    renameSync(b.dir, join(folder, "ev-b"));
    await wb.scheduler?.tick();
    await until("ev-b's queue paused", () => wb.queues.of("ev-b").isPaused(), 15_000);
    const recs = [...(await stores.ledger.all("ev-b")).values()];
    expect(recs.map((r) => r.state)).toEqual(["scheduled", "scheduled", "scheduled"]);
    expect(logins).toBe(before);
  });

  // Last in the file: it leaves one slot on another master than `redis-cli --cluster create` put it.
  it("a claim whose slot moved to another master (a resharding) follows it instead of failing the attempt", async () => {
    const lab = cluster.get();
    const prefix = uniquePrefix();
    cleanups.push(() => deletePrefix(prefix, lab.url));
    const client = connectRedis(lab.url, "worker");
    cleanups.push(() => client.disconnect());
    const stores = createStores(client, prefix);
    const to = "someone@example.test";
    for (const id of ["s1", "s2"])
      await stores.ledger.transition("mini", id, ["none"], {
        state: "scheduled",
        recipient: to,
        due: Date.now(),
      });
    expect((await stores.ledger.claim("mini", "s1", to)).ok).toBe(true);

    // Move the event's slot, keys and all, the way `redis-cli --cluster reshard` does; the
    // client's slot map still names the old master.
    const slot = String(await keySlot(lab, stores.keys.ledger("mini")));
    const from = await lab.masterOf(Number(slot));
    const masters = (await lab.nodes()).filter((n) => n.role === "master" && !n.failed);
    const dest = masters.find((n) => n.id !== from.id);
    if (!dest) throw new Error("no other master");
    await lab.cli(dest.port, "CLUSTER", "SETSLOT", slot, "IMPORTING", from.id);
    await lab.cli(from.port, "CLUSTER", "SETSLOT", slot, "MIGRATING", dest.id);
    const keys = (await lab.cli(from.port, "CLUSTER", "GETKEYSINSLOT", slot, "1000"))
      .split("\n")
      .filter(Boolean);
    await lab.cli(
      from.port,
      "MIGRATE",
      "127.0.0.1",
      String(dest.port),
      "",
      "0",
      "5000",
      "KEYS",
      ...keys,
    );
    for (const n of masters) await lab.cli(n.port, "CLUSTER", "SETSLOT", slot, "NODE", dest.id);

    const claim = await stores.ledger.claim("mini", "s2", to);
    expect(claim).toEqual({ ok: true, from: "scheduled" });
    expect((await stores.ledger.get("mini", "s2"))?.state).toBe("sending");
    expect((await lab.masterOf(Number(slot))).id).toBe(dest.id);
  });
});
