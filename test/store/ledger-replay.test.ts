/**
 * A ledger move Redis ran whose reply was lost with the connection (Redis killed, or the network
 * cut, after the command ran and before its answer arrived). ioredis sends unanswered commands
 * again once it has reconnected, so Redis runs the move a second time. That second run must
 * answer as the first did. Found already made and answered "blocked", a claim made its attempt
 * a no-op and left the send `sending` with no job, and a tick's batch queued no jobs for its
 * sends: each waited minutes for a full tick (most likely how faults scenario 2, Redis SIGKILLed
 * with AOF fsync always, once ended with a send neither received nor recorded).
 *
 * A loopback proxy in front of the real Redis drops the connection at the first reply after the
 * move went through it, and lets the reconnection through.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStores } from "../../src/store/index.js";
import { connectRedis, type Redis } from "../../src/store/redis.js";
import { deletePrefix, REDIS_URL } from "../support/redis.js";

const run = `convene-test-ledger-replay-${randomUUID()}`;
const upstream = new URL(REDIS_URL);

/** Forwards to REDIS_URL; once armed, cuts the connection instead of passing on a reply. */
class CuttingProxy {
  private readonly server: Server;
  /** Set when a write containing this text went upstream; the next reply is then cut. */
  cutAfter: string | undefined;
  cuts = 0;
  connections = 0;

  constructor() {
    this.server = createServer((client) => this.pipe(client));
  }

  private pipe(client: Socket): void {
    this.connections++;
    const server = tcpConnect(Number(upstream.port || 6379), upstream.hostname);
    let cutting = false;
    client.on("data", (d) => {
      if (this.cutAfter && d.includes(this.cutAfter)) {
        this.cutAfter = undefined;
        cutting = true;
      }
      server.write(d);
    });
    server.on("data", (d) => {
      if (!cutting) return void client.write(d);
      cutting = false;
      this.cuts++;
      client.destroy();
      server.destroy();
    });
    const end = () => {
      client.destroy();
      server.destroy();
    };
    client.on("error", end).on("close", end);
    server.on("error", end).on("close", end);
  }

  listen(): Promise<string> {
    return new Promise((resolve) =>
      this.server.listen(0, "127.0.0.1", () => {
        const a = this.server.address();
        const port = typeof a === "object" && a ? a.port : 0;
        const u = new URL(REDIS_URL);
        u.hostname = "127.0.0.1";
        u.port = String(port);
        resolve(u.toString());
      }),
    );
  }

  close(): void {
    this.server.close();
  }
}

const proxy = new CuttingProxy();
let redis: Redis;

beforeAll(async () => {
  // As the worker connects: commands wait through a reconnection instead of failing.
  redis = connectRedis(await proxy.listen(), "worker");
});

afterAll(async () => {
  redis.disconnect();
  proxy.close();
  await deletePrefix(run);
});

describe("a ledger move whose reply was lost", () => {
  it("is the same claim when ioredis sends it again: it wins, and counts one attempt", async () => {
    const { ledger } = createStores(redis, run);
    // The script is loaded (EVALSHA answers) before the cut, so the cut reply is the claim's.
    await ledger.transition("ev", "send-1", ["none"], { state: "scheduled", due: 1 });
    proxy.cutAfter = "sending";
    const claim = await ledger.claim("ev", "send-1", "someone@example.org");
    expect(proxy.cuts).toBe(1);
    expect(proxy.connections).toBeGreaterThan(1);
    expect(claim.ok).toBe(true);
    const rec = await ledger.get("ev", "send-1");
    expect(rec?.state).toBe("sending");
    expect(rec?.attempts).toBe(1);
  });

  it("still loses to another claim of the same send", async () => {
    const { ledger } = createStores(redis, run);
    await ledger.transition("ev", "send-2", ["none"], { state: "scheduled", due: 1 });
    expect((await ledger.claim("ev", "send-2", "someone@example.org")).ok).toBe(true);
    expect(await ledger.claim("ev", "send-2", "someone@example.org")).toEqual({
      ok: false,
      from: "sending",
    });
  });

  it("a tick's batch sent again answers every move made, so each send gets its job", async () => {
    const { ledger } = createStores(redis, run);
    const ids = ["batch-1", "batch-2", "batch-3"];
    proxy.cutAfter = "batch-3";
    const cuts = proxy.cuts;
    const res = await ledger.transitionMany(
      "ev",
      ids.map((id) => ({ id, from: ["none"] as const, patch: { state: "scheduled", due: 1 } })),
    );
    expect(proxy.cuts).toBe(cuts + 1);
    expect(res.map((r) => r.ok)).toEqual([true, true, true]);
    const recs = await ledger.getMany("ev", ids);
    expect(ids.map((id) => recs.get(id)?.state)).toEqual(["scheduled", "scheduled", "scheduled"]);
  });

  it("a call sent again after moves by a worker without tokens (a rolling deploy) loses", async () => {
    const { ledger, keys } = createStores(redis, run);
    const call = (now: number, allowed: string, patch: object) =>
      redis.ledgerTransition(
        keys.ledger("ev"),
        keys.pending("ev"),
        String(now),
        "send-4",
        allowed,
        JSON.stringify(patch),
        "a-",
      );
    const claim = [
      1_000,
      "|none|scheduled|unconfirmed|unplanned|",
      { s: "sending", e: "someone@example.org", c: "TTTTTTTT0" },
    ] as const;
    expect(await call(...claim)).toEqual([1, "none"]);
    // The previous version's worker takes the job over: its patches carry no token, and its
    // script leaves `c` as it was, as this one does for a patch without one.
    expect(await call(2_000, "|sending|", { s: "unconfirmed" })).toEqual([1, "sending"]);
    expect(await call(3_000, "|unconfirmed|", { s: "sending" })).toEqual([1, "unconfirmed"]);
    // The first claim's resend must not win beside that worker's live claim.
    expect(await call(...claim)).toEqual([0, "sending"]);
    expect((await ledger.get("ev", "send-4"))?.attempts).toBe(3);
  });
});

describe("a step report's claim whose reply was lost", () => {
  it("is the same claim when ioredis sends it again: the line is still logged, once", async () => {
    const { reports } = createStores(redis, run);
    // The script is loaded before the cut, so the cut reply is the claim's.
    expect(await reports.claim("ev", "warm-up@1")).toBe(true);
    proxy.cutAfter = "letter@1700000000000";
    const cuts = proxy.cuts;
    expect(await reports.claim("ev", "letter@1700000000000")).toBe(true);
    expect(proxy.cuts).toBe(cuts + 1);
    // Another scheduler's claim of the same occurrence, and this one's next, both lose.
    const direct = connectRedis(REDIS_URL, "worker");
    try {
      const other = createStores(direct, run);
      expect(await other.reports.claim("ev", "letter@1700000000000")).toBe(false);
    } finally {
      direct.disconnect();
    }
    expect(await reports.claim("ev", "letter@1700000000000")).toBe(false);
  });
});
