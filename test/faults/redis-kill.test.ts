/**
 * Scenario 2: Redis SIGKILLed mid-campaign, for 5 s (shorter than the job lock, 6 s) and then
 * for 9 s (longer: every lock held at the kill has expired when Redis comes back), restarted
 * each time on the same data directory (AOF, fsync always). Two workers keep running through
 * both outages. Asserts: the workers survive, lost = 0, every duplicate is of a send the ledger
 * marks unconfirmed, and the ledger ends with every send `sent`.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  Lab,
  ledgerOf,
  letterStep,
  nowMinute,
  people,
  reconcile,
  sleep,
  until,
  workerEnv,
  writeEvent,
} from "./harness.js";

const N = Number(process.env.FAULTS_REDIS_N ?? 600);
const LOCK_MS = 6_000;
const lab = new Lab("redis");
afterAll(async () => {
  await lab.close();
  lab.remove();
});

describe("scenario 2: Redis killed mid-campaign", () => {
  it(`${N} recipients; Redis down 5 s, then 9 s (> the ${LOCK_MS} ms lock): nothing lost`, async () => {
    const redis = await lab.redis(6411);
    const relay = await lab.relay(6432);
    await relay.mode({ mode: "accept", holdMs: 30 });
    const ev = writeEvent(lab.events, "redis", people(N), [letterStep(nowMinute())]);
    const planned = (await lab.plan(ev.dir)).map((s) => s.id);
    const env = workerEnv(redis, "faults-redis", relay.url, {
      CONVENE_LOCK_MS: String(LOCK_MS),
      // Spread over ~the outages, so both hit a campaign in progress.
      SEND_RATE: "25",
    });
    const args = [ev.dir, "--cron", "*/5 * * * * *"];
    const workers = [lab.worker("a", args, env), lab.worker("b", args, env)];
    const got = () => relay.received().counts.size;

    await until("a fifth of the campaign", () => got() >= N / 5, 90_000);
    await redis.kill();
    const duringFirst = got();
    await sleep(5_000);
    await redis.start();

    await until("half of the campaign", () => got() >= N / 2, 90_000);
    await redis.kill();
    await sleep(9_000);
    const duringSecond = got();
    await redis.start();
    expect(duringFirst).toBeLessThan(N);
    expect(duringSecond).toBeLessThan(N);

    await until(
      "every send recorded sent",
      async () =>
        (await ledgerOf(redis.url, "faults-redis", "redis")).filter((x) => x.state === "sent")
          .length === N,
      120_000,
      1_000,
    ).catch(() => undefined);
    await sleep(1_000);
    const st = await lab.status(ev.dir, env);
    const r = reconcile({
      scenario: `2 Redis SIGKILL 5s+9s (${N} rcpt)`,
      planned,
      received: relay.received(),
      marked: Lab.marked(st),
      started: lab.started,
    });
    expect(workers.map((w) => w.alive())).toEqual([true, true]);
    expect(r.lostIds).toEqual([]);
    expect(r.unmarkedDuplicates).toEqual([]);
    expect(r.strangers).toEqual([]);
    expect(st.steps[0]?.states.sent).toBe(N);
    expect(lab.leaks()).toEqual([]);
  });
});
