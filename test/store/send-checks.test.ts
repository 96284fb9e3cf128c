/**
 * The two scripts a send's checks are read with (send-checks.ts, SmtpHealth.clearance), against
 * the real Redis under a prefix of their own: they answer what the separate reads of each store
 * answer, and the SMTP one takes a SEND_RATE turn only when nothing else holds the send back.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStores } from "../../src/store/index.js";
import { keys } from "../../src/store/keys.js";
import { deletePrefix } from "../../src/store/prefix.js";
import { connectRedis, type Redis } from "../../src/store/redis.js";
import { SendChecks } from "../../src/store/send-checks.js";
import { SuppressionStore } from "../../src/store/suppressions.js";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const run = `convene-test-send-checks-${randomUUID()}`;
let redis: Redis;

beforeAll(() => {
  redis = connectRedis(REDIS_URL, "cli");
});

afterAll(async () => {
  await deletePrefix(redis, run);
  redis.disconnect();
});

describe("the send's checks in one read", () => {
  it("answers what each store answers on its own", async () => {
    const s = createStores(redis, `${run}:same`);
    await s.ledger.transition("ev", "send-1", ["none"], { state: "scheduled", due: 5 });
    await s.control.pause("ev", "letter");
    await s.registrations.record("ev", "t1", "2026-01-02T03:04:05Z");
    await s.suppressions.add("Someone@Example.org", "bounced");
    await s.calendar.recordDelivery("ev", "day-1", "someone@example.org", {
      step: "invite",
      sequence: 2,
      method: "REQUEST",
    });
    const snap = await s.sendChecks.read({
      event: "ev",
      id: "send-1",
      recipient: "Someone@Example.org",
      team: "t1",
      item: "day-1",
      rsvp: true,
    });
    expect(snap.ledger).toEqual(await s.ledger.get("ev", "send-1"));
    expect(snap.controls.of("letter")).toBe("paused");
    expect(snap.controls.entries()).toEqual((await s.control.get("ev")).entries());
    expect(snap.registrations).toEqual(await s.registrations.forTeam("ev", "t1"));
    expect(snap.suppression).toEqual(await s.suppressions.get("Someone@Example.org"));
    expect(snap.calendar).toEqual({
      item: await s.calendar.item("ev", "day-1"),
      delivered: await s.calendar.delivered("ev", "day-1", "someone@example.org"),
    });
    expect(snap.rsvps).toEqual(await s.rsvp.answers("ev"));
  });

  it("a send nothing is recorded for reads as nothing, and skips what it did not ask for", async () => {
    const s = createStores(redis, `${run}:empty`);
    const snap = await s.sendChecks.read({
      event: "ev",
      id: "send-1",
      recipient: "a@example.org",
      rsvp: false,
    });
    expect(snap).toEqual({
      ledger: undefined,
      controls: expect.anything(),
      registrations: [],
      rsvps: [],
      suppression: undefined,
    });
    expect(snap.controls.of("letter")).toBeUndefined();
  });
});

describe("the suppression, read in the checks' script or beside it", () => {
  /** The cluster layout's names work on one Redis too: its script then skips KEYS[7]. */
  for (const cluster of [false, true])
    it(`${cluster ? "cluster" : "one Redis"}: a suppressed address reads as suppressed, another as not`, async () => {
      const k = keys(`${run}:layout-${cluster}`, { cluster });
      await new SuppressionStore(redis, k).add("Gone@Example.org", "bounced");
      const checks = new SendChecks(redis, k);
      const ask = (recipient: string) =>
        checks.read({ event: "ev", id: "send-1", recipient, rsvp: false });
      expect((await ask("gone@example.org")).suppression).toMatchObject({ reason: "bounced" });
      expect((await ask("GONE@example.org")).suppression).toMatchObject({ reason: "bounced" });
      expect((await ask("here@example.org")).suppression).toBeUndefined();
    });
});

describe("the SMTP clearance", () => {
  const pace = { perSecond: 1, maxWaitMs: 2_000 };

  it("takes SEND_RATE turns as SendRate.take does, one interval apart", async () => {
    const s = createStores(redis, `${run}:turns`);
    expect(await s.smtp.clearance(pace)).toEqual({ halt: undefined, waitingMs: 0, turn: 0 });
    const second = await s.smtp.clearance(pace);
    expect(second.turn).toBeGreaterThan(900);
    expect(second.turn).toBeLessThanOrEqual(1_000);
    // Two more are further off than maxWaitMs: nothing is reserved, the answer is negative.
    await s.smtp.clearance(pace);
    expect((await s.smtp.clearance(pace)).turn).toBeLessThan(-2_000);
  });

  it("asks for no turn without a pace, and uses none while halted or waiting", async () => {
    const s = createStores(redis, `${run}:held`);
    expect(await s.smtp.clearance()).toEqual({ halt: undefined, waitingMs: 0 });
    await s.smtp.halt({ at: "2026-01-01T00:00:00Z", reply: "535 no", server: "smtp://x" });
    const halted = await s.smtp.clearance(pace);
    expect(halted.halt?.reply).toBe("535 no");
    expect(halted.turn).toBeUndefined();
    await s.smtp.clearHalt();
    await s.smtp.slowDown(5_000);
    const waiting = await s.smtp.clearance(pace);
    expect(waiting.waitingMs).toBeGreaterThan(4_000);
    expect(waiting.turn).toBeUndefined();
    expect(await redis.get(s.keys.sendRate())).toBeNull();
  });
});
