/**
 * The store's own machinery against the real Redis (REDIS_URL, default 127.0.0.1:6379), each
 * test under a prefix of its own: the Lua scripts come from their files with a header that says
 * their keys, deletePrefix removes exactly one prefix, and the calendar state keeps its layout.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CalendarState, DeliveryRecord } from "../../src/calendar/lifecycle.js";
import { RedisCalendarStateStore } from "../../src/store/calendar-state.js";
import { createStores } from "../../src/store/index.js";
import { keys } from "../../src/store/keys.js";
import { checkWritable, deletePrefix } from "../../src/store/prefix.js";
import { connectRedis, type Redis } from "../../src/store/redis.js";
import { COMMANDS, defineScripts, loadScripts, SCRIPTS_DIR } from "../../src/store/scripts.js";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const run = `convene-test-store-${randomUUID()}`;
let redis: Redis;

beforeAll(() => {
  redis = connectRedis(REDIS_URL, "cli");
});

afterAll(async () => {
  // Every test's prefix is `<run>:<name>`, so this removes all the file wrote, and only that:
  // never a flush of a Redis other tests share.
  await deletePrefix(redis, run);
  redis.disconnect();
});

describe("Lua scripts", () => {
  const scriptsDir = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), "convene-scripts-"));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };

  it("loads one command per file of src/store/scripts, the file's text unchanged", () => {
    const files = readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".lua"));
    const scripts = loadScripts();
    expect(scripts.map((s) => s.name).sort()).toEqual([...COMMANDS].sort());
    expect(scripts).toHaveLength(files.length);
    for (const s of scripts) {
      expect(files).toContain(`${s.name}-${s.numberOfKeys}.lua`);
      expect(s.lua).toBe(
        readFileSync(join(SCRIPTS_DIR, `${s.name}-${s.numberOfKeys}.lua`), "utf8"),
      );
    }
  });

  it("every script opens with a header listing KEYS[1..n] for the n in its name, and ARGV", () => {
    for (const s of loadScripts()) {
      const header = /^--\[\[\n([\s\S]*?)\n\]\]\n/.exec(s.lua)?.[1] ?? "";
      expect(header, s.file).toMatch(/^\s+Input:$/m);
      for (let k = 1; k <= s.numberOfKeys; k++) expect(header, s.file).toMatch(`KEYS[${k}] `);
      expect(header, s.file).not.toMatch(`KEYS[${s.numberOfKeys + 1}]`);
      expect(header, s.file).toMatch(/^\s+ARGV\[1\] /m);
      expect(header, s.file).toMatch(/^\s+Output:$/m);
    }
  });

  it("refuses a script whose header disagrees with its name, or that has none", () => {
    const good = "--[[\n  Input:\n    KEYS[1] a\n\n    ARGV[1] b\n]]\nreturn 1\n";
    const wrongCount = scriptsDir({ "twoKeys-2.lua": good });
    const noHeader = scriptsDir({ "bare-1.lua": "return redis.call('GET', KEYS[1])\n" });
    const badName = scriptsDir({ "no_count.lua": good });
    try {
      expect(loadScripts(scriptsDir({ "oneKey-1.lua": good }))).toMatchObject([
        { name: "oneKey", numberOfKeys: 1 },
      ]);
      expect(() => loadScripts(wrongCount)).toThrow(/name says 2 key/);
      expect(() => loadScripts(noHeader)).toThrow(/must open with a --\[\[ … \]\] header/);
      expect(() => loadScripts(badName)).toThrow(/<command>-<number of keys>\.lua/);
    } finally {
      for (const d of [wrongCount, noHeader, badName]) rmSync(d, { recursive: true, force: true });
    }
  });

  it("runs the file's text in Redis: its SHA1 is what the server caches after a call", async () => {
    const own = connectRedis(REDIS_URL, "cli");
    try {
      defineScripts(own);
      const s = loadScripts().find((x) => x.name === "controlResume");
      if (!s) throw new Error("controlResume-1.lua is missing");
      const sha = createHash("sha1").update(s.lua).digest("hex");
      const k = keys(`${run}:sha`);
      expect(await own.controlResume(k.control("ev"), "*")).toBe(1);
      expect(await own.script("EXISTS", sha)).toEqual([1]);
    } finally {
      own.disconnect();
    }
  });

  it("moves a batch of sends in one script call, each as if alone: a second move of a send sees the first", async () => {
    const stores = createStores(redis, `${run}:ledger`);
    const [a, b] = await stores.ledger.transitionMany("ev", [
      { id: "ev.step.a", from: ["none"], patch: { state: "scheduled", recipient: "a@x", due: 5 } },
      { id: "ev.step.a", from: ["none"], patch: { state: "scheduled", recipient: "a@x", due: 6 } },
    ]);
    expect(a).toEqual({ ok: true, from: "none" });
    expect(b).toEqual({ ok: false, from: "scheduled" });
    expect(await stores.ledger.pending("ev")).toEqual(new Map([["ev.step.a", 5]]));
  });

  it("keeps the order of the results over many script calls, and counts each attempt", async () => {
    const stores = createStores(redis, `${run}:ledger-many`);
    const ids = Array.from({ length: 1201 }, (_, i) => `ev.step.${String(i).padStart(16, "0")}`);
    const schedule = ids.map((id, i) => ({
      id,
      from: ["none"] as const,
      patch: { state: "scheduled" as const, recipient: `p${i}@x`, due: i },
    }));
    expect((await stores.ledger.transitionMany("ev", schedule)).every((r) => r.ok)).toBe(true);
    // Every other one is claimed first, so the batch below finds it already `sending`.
    for (const id of ids.filter((_, i) => i % 2 === 1)) await stores.ledger.claim("ev", id, "p@x");
    const claims = await stores.ledger.transitionMany(
      "ev",
      ids.map((id) => ({
        id,
        from: ["scheduled"] as const,
        patch: { state: "sending" as const, recipient: "p@x", attempt: true },
      })),
    );
    expect(claims.map((r) => r.from)).toEqual(ids.map((_, i) => (i % 2 ? "sending" : "scheduled")));
    expect(claims.map((r) => r.ok)).toEqual(ids.map((_, i) => i % 2 === 0));
    const recs = await stores.ledger.getMany("ev", ids);
    expect([...recs.values()].every((r) => r.state === "sending" && r.attempts === 1)).toBe(true);
    expect((await stores.ledger.pending("ev")).size).toBe(0);
  });
});

describe("deletePrefix", () => {
  it("removes every key under <prefix>: in batches, and nothing beside it", async () => {
    const p = `${run}:wipe`;
    const under = Array.from({ length: 2_500 }, (_, i) => `${p}:k${i}`);
    const beside = [p, `${p}-rehearsal-ev:ledger:ev`, `${p}x:k`, `x${p}:k`];
    const pipe = redis.pipeline();
    for (const k of [...under, ...beside]) pipe.set(k, "1");
    pipe.hset(`${p}:ledger:ev`, "id", "{}");
    await pipe.exec();

    expect(await deletePrefix(redis, p, 100)).toBe(under.length + 1);
    expect(await redis.exists(...under, `${p}:ledger:ev`)).toBe(0);
    expect(await redis.exists(...beside)).toBe(beside.length);
    await redis.unlink(...beside);
  });

  it("reads the prefix as literal text, not as a glob", async () => {
    const p = `${run}:glob`;
    const starred = `${p}[*]?`;
    await redis.set(`${starred}:k`, "1");
    // What `${p}[*]?:*` matches as a glob: one `*`, then any one character.
    await redis.set(`${p}*x:k`, "1");

    expect(await deletePrefix(redis, starred)).toBe(1);
    expect(await redis.exists(`${starred}:k`)).toBe(0);
    expect(await redis.exists(`${p}*x:k`)).toBe(1);
    await redis.unlink(`${p}*x:k`);
  });

  it("the writable check leaves only its short-lived probe", async () => {
    const p = `${run}:probe`;
    await checkWritable(redis, p);
    const ttl = await redis.pttl(keys(p).writableProbe());
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10_000);
  });
});

describe("calendar state store", () => {
  const p = `${run}:calendar`;
  const EV = "ev";
  let store: RedisCalendarStateStore;
  beforeAll(() => {
    store = new RedisCalendarStateStore(redis, p);
  });

  const delivery = (sequence: number): DeliveryRecord => ({
    step: "invites",
    sequence,
    method: "REQUEST",
    name: "Ann Example",
  });

  it("round-trips items, issued marks and deliveries, on the keys keys.ts documents", async () => {
    const state: CalendarState = {
      items: {
        keynote: {
          sequence: 2,
          contentSequence: 1,
          fingerprint: "f1",
          cancelled: false,
          recipients: {
            "a@x.org": { issued: { step: "invites", version: 2, method: "REQUEST" } },
          },
        },
        lunch: {
          sequence: 0,
          contentSequence: 0,
          fingerprint: "f2",
          cancelled: true,
          recipients: {},
        },
      },
    };
    await store.save(EV, state);
    await store.recordDelivery(EV, "keynote", "A@X.org", delivery(1));

    const loaded = await store.load(EV);
    expect(loaded.items.lunch).toEqual(state.items.lunch);
    expect(loaded.items.keynote?.recipients["a@x.org"]).toEqual({
      issued: state.items.keynote?.recipients["a@x.org"]?.issued,
      delivered: delivery(1),
    });
    expect(await store.delivered(EV, "keynote", "a@x.org")).toEqual(delivery(1));
    expect(await store.sequence(EV, "keynote")).toBe(2);
    expect(await store.sequence(EV, "nothing")).toBe(0);
    expect(await store.item(EV, "lunch")).toEqual(state.items.lunch);

    // The layout existing deployments already hold: moving the store must not move the data.
    const k = keys(p);
    expect([k.calendarItems(EV), k.calendarDelivered(EV), k.calendarIssued(EV)]).toEqual([
      `${p}:calendar:${EV}:items`,
      `${p}:calendar:${EV}:delivered`,
      `${p}:calendar:${EV}:issued`,
    ]);
    expect(await redis.hkeys(k.calendarDelivered(EV))).toEqual(["keynote\na@x.org"]);
    expect(await redis.hkeys(k.calendarIssued(EV))).toEqual(["keynote\na@x.org"]);
  });

  it("never lets an older delivery replace a newer one", async () => {
    await store.recordDelivery(EV, "keynote", "b@x.org", delivery(3));
    await store.recordDelivery(EV, "keynote", "b@x.org", delivery(2));
    expect((await store.delivered(EV, "keynote", "b@x.org"))?.sequence).toBe(3);
    await store.recordDelivery(EV, "keynote", "b@x.org", delivery(4));
    expect((await store.delivered(EV, "keynote", "b@x.org"))?.sequence).toBe(4);
  });

  it("clear removes the event's calendar state", async () => {
    await store.clear(EV);
    expect(await store.load(EV)).toEqual({ items: {} });
  });
});
