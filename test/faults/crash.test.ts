/**
 * Scenario 1: `kill -9` of a worker at random moments during a 3,000-recipient step, five times,
 * restarting it each time; then a kill, a restart, and a second kill while the sends the first
 * kill cut off are being resent. Two workers share the work (both also schedule), the relay
 * holds each 250 for 40 ms so that every kill finds sends in flight.
 * Asserts: lost = 0; every duplicate is of a send the ledger marks unconfirmed; the ledger ends
 * with every send `sent`.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  Lab,
  ledgerOf,
  letterStep,
  nowMinute,
  type Proc,
  people,
  reconcile,
  sleep,
  until,
  workerEnv,
  writeEvent,
} from "./harness.js";

const N = Number(process.env.FAULTS_CRASH_N ?? 3000);
const lab = new Lab("crash");
afterAll(async () => {
  await lab.close();
  lab.remove();
});

describe("scenario 1: kill -9 during a large step", () => {
  it(`${N} recipients, 5 random kills and a kill during the resend: nothing lost, duplicates only among unconfirmed`, async () => {
    const redis = await lab.redis(6410);
    const relay = await lab.relay(6431);
    await relay.mode({ mode: "accept", holdMs: 40 });
    const ev = writeEvent(lab.events, "crash", people(N), [letterStep(nowMinute())]);
    const planned = (await lab.plan(ev.dir)).map((s) => s.id);
    expect(planned).toHaveLength(N);
    const env = workerEnv(redis, "faults-crash", relay.url, { CONVENE_CONCURRENCY: "6" });
    const args = [ev.dir, "--cron", "*/5 * * * * *"];
    let a: Proc = lab.worker("a", args, env);
    const b = lab.worker("b", args, env);
    const got = () => relay.received().counts.size;
    await until("the first messages", () => got() > 50, 60_000);

    let kills = 0;
    const killA = async () => {
      a.child.kill("SIGKILL");
      await a.exited;
      kills++;
    };
    // Five kills at random moments, each followed by a restart.
    for (let i = 0; i < 5; i++) {
      await sleep(1_000 + Math.floor(Math.random() * 2_500));
      await killA();
      await sleep(200 + Math.floor(Math.random() * 500));
      a = lab.worker(`a${i + 1}`, args, env);
    }
    // A kill, then a second one while its cut-off sends are resent (their locks expire after
    // CONVENE_LOCK_MS = 2 s; the stalled check moves them back and a worker resends them).
    await sleep(1_500);
    await killA();
    a = lab.worker("a-resend", args, env);
    await sleep(2_600);
    await killA();
    a = lab.worker("a-last", args, env);
    // The kills must land during the campaign, or this scenario proves nothing.
    const atLastKill = got();

    // Polled through the ledger directly: a `convene status` per poll would cost a CPU second.
    const sentAll = async () =>
      (await ledgerOf(redis.url, "faults-crash", "crash")).filter((x) => x.state === "sent")
        .length === N;
    await until("every send recorded sent", sentAll, 200_000, 1_000).catch(() => undefined);
    await sleep(1_000);
    const st = await lab.status(ev.dir, env);
    const r = reconcile({
      scenario: `1 kill -9 x${kills} (${N} rcpt)`,
      planned,
      received: relay.received(),
      marked: Lab.marked(st),
      started: lab.started,
    });
    expect(b.alive()).toBe(true);
    expect(r.lostIds).toEqual([]);
    expect(r.unmarkedDuplicates).toEqual([]);
    expect(r.strangers).toEqual([]);
    expect(kills).toBe(7);
    expect(atLastKill).toBeLessThan(N);
    expect(st.steps[0]?.states.sent).toBe(N);
    // The kills hit sends in flight: some were cut off and resent.
    expect(r.unconfirmed).toBeGreaterThan(0);
  });
});
