/** How REDIS_URL (with REDIS_CLUSTER) names one Redis or a cluster, and how it is shown redacted. */
import { describe, expect, it } from "vitest";
import { redactUrl } from "../../src/config.js";
import { keys } from "../../src/store/keys.js";
import { redisTarget } from "../../src/store/redis.js";

describe("redisTarget", () => {
  it("redis+cluster:// lists seed nodes, with credentials and TLS", () => {
    expect(redisTarget("redis+cluster://10.0.0.1:7000,10.0.0.2:7001", {})).toEqual({
      kind: "cluster",
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
      ],
      tls: false,
    });
    expect(redisTarget("rediss+cluster://app:s%40cret@cache.example:6380", {})).toEqual({
      kind: "cluster",
      nodes: [{ host: "cache.example", port: 6380 }],
      tls: true,
      username: "app",
      password: "s@cret",
    });
  });

  it("REDIS_CLUSTER=1 makes a redis:// URL a cluster's seed; without it, one Redis", () => {
    expect(redisTarget("redis://:pw@127.0.0.1:7000", { REDIS_CLUSTER: "1" })).toEqual({
      kind: "cluster",
      nodes: [{ host: "127.0.0.1", port: 7000 }],
      tls: false,
      password: "pw",
    });
    expect(redisTarget("redis://127.0.0.1:7000", {})).toEqual({
      kind: "single",
      url: "redis://127.0.0.1:7000",
    });
  });

  it("a node that is not host:port is a located error", () => {
    expect(() => redisTarget("redis+cluster://a:1,b:x", {})).toThrow(/"b:x" is not host:port/);
  });

  it("a cluster URL's credentials are redacted", () => {
    expect(redactUrl("redis+cluster://app:secret@h1:1,h2:2")).toBe(
      "redis+cluster://***:***@h1:1,h2:2",
    );
  });
});

describe("key layouts", () => {
  it("one Redis keeps the names of earlier versions; a cluster tags each event and the global data", () => {
    const single = keys("convene");
    expect(single.ledger("ev")).toBe("convene:ledger:ev");
    expect(single.bullPrefix("ev")).toBe("convene:bull");
    expect(single.suppressed()).toBe("convene:suppressed");
    const c = keys("convene", { cluster: true });
    expect(c.ledger("ev")).toBe("{convene:ev}:ledger");
    expect(c.pending("ev")).toBe("{convene:ev}:pending");
    expect(c.bullPrefix("ev")).toBe("{convene:ev}:bull");
    expect(c.suppressed()).toBe("{convene}:suppressed");
    expect(c.smtpSlowDown()).toBe("{convene}:smtp:slowdown");
    expect(() => c.bullPrefix()).toThrow(/name the event/);
  });
});
