/** How REDIS_URL (with REDIS_CLUSTER) names one Redis or a cluster, and how it is shown redacted. */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, redactUrl } from "../../src/config.js";
import { keys } from "../../src/store/keys.js";
import { redisTarget, resolveRedisUrl } from "../../src/store/redis.js";

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

describe("CONVENE_PREFIX on a cluster", () => {
  const cluster = { REDIS_URL: "redis+cluster://127.0.0.1:7000" };

  it("a prefix with braces is refused before anything connects, naming the setting and a fix", () => {
    // `{convene}` (pinning every key to one slot by hand) would put every event in one slot;
    // `}x` leaves an empty tag, so an event's ledger and pending index would hash apart.
    for (const prefix of ["{convene}", "}x", "a{b}"]) {
      expect(() => loadConfig({ ...cluster, CONVENE_PREFIX: prefix })).toThrow(ConfigError);
      expect(() => loadConfig({ ...cluster, CONVENE_PREFIX: prefix })).toThrow(
        /CONVENE_PREFIX must not contain \{ or \} on a Redis Cluster/,
      );
      expect(() => keys(prefix, { cluster: true })).toThrow(/CONVENE_PREFIX/);
    }
    expect(() =>
      loadConfig({
        REDIS_URL: "redis://127.0.0.1:7000",
        REDIS_CLUSTER: "1",
        CONVENE_PREFIX: "{c}",
      }),
    ).toThrow(/set CONVENE_PREFIX=c/);
  });

  it("one Redis keeps accepting such a prefix, and a cluster any prefix without braces", () => {
    expect(
      loadConfig({ REDIS_URL: "redis://127.0.0.1:6379", CONVENE_PREFIX: "{convene}" }).prefix,
    ).toBe("{convene}");
    expect(keys("{convene}").ledger("ev")).toBe("{convene}:ledger:ev");
    expect(loadConfig({ ...cluster, CONVENE_PREFIX: "acme-events" }).prefix).toBe("acme-events");
  });

  it("a REDIS_URL that does not parse is left for the command that connects to report", () => {
    expect(loadConfig({ REDIS_URL: "redis+cluster://a:1,b:x", CONVENE_PREFIX: "{c}" }).prefix).toBe(
      "{c}",
    );
  });
});

describe("REDIS_CLUSTER=1 without REDIS_URL", () => {
  it("uses the default address as a cluster seed and starts no private single Redis, which could never be one", async () => {
    const env: NodeJS.ProcessEnv = {
      REDIS_CLUSTER: "1",
      CONVENE_DEFAULT_REDIS: "redis://127.0.0.1:1",
    };
    const logged: string[] = [];
    await expect(resolveRedisUrl(env, (l) => logged.push(l))).resolves.toBe("redis://127.0.0.1:1");
    expect(env.REDIS_URL).toBe("redis://127.0.0.1:1");
    expect(logged).toEqual([]);
  });
});
