/**
 * /healthz from `convene serve`'s own wiring (startServer): Redis reachable and the age of the
 * last tick of a real scheduler on the same Redis; 503 only when Redis does not answer (a stale
 * or absent scheduler is reported, not fatal); and /metrics behind CONVENE_METRICS_TOKEN.
 */
import { afterEach, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { type StartedServer, startServer } from "../../src/cli/serve.js";
import { createStores } from "../../src/store/index.js";
import { createLogger } from "../../src/worker/logger.js";
import { Exposition } from "../support/metrics-text.js";
import {
  eventSetup,
  inProcessWorker,
  letterStep,
  people,
  testConfig,
  testHooks,
  uniquePrefix,
  until,
} from "../worker/fixture.js";
import { closedPort } from "./serve-fixture.js";

const hooks = testHooks();
const silent = () =>
  createLogger({ level: process.env.CONVENE_TEST_LOG ?? "silent", pretty: false });

const savedEnv = { ...process.env };
afterEach(() => {
  for (const k of ["CONVENE_TICK_STALE_SECONDS", "CONVENE_METRICS_TOKEN"])
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
});

async function serverOn(config: ReturnType<typeof testConfig>, paths: string[] = []) {
  const s: StartedServer = await startServer(KINDS, paths, {
    listen: { host: "127.0.0.1", port: 0 },
    config,
    log: silent(),
  });
  hooks.cleanups.push(() => s.close());
  return s;
}

async function healthOf(url: string) {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("/healthz", () => {
  it("reports the age of a real scheduler tick, and a newer tick after the next one", async () => {
    const { fx, config } = await eventSetup(hooks, { people: people(2), steps: [letterStep()] });
    const s = await serverOn(config, [fx.dir]);

    // No scheduler has ticked on this prefix yet: healthy, and it says so.
    expect(await healthOf(s.url)).toEqual({
      status: 200,
      body: { redis: "ok", lastTick: null, tickAgeSeconds: null, scheduler: "none" },
    });

    const w = inProcessWorker({ paths: [fx.dir], config, processors: false });
    hooks.cleanups.push(() => w.close());
    await w.ready;
    const tick = await createStores(hooks.redis, config.prefix).ticks.last();
    expect(tick?.events).toEqual(["mini"]);
    const first = await healthOf(s.url);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      redis: "ok",
      lastTick: new Date(tick?.at ?? 0).toISOString(),
      scheduler: "ok",
    });
    const age = first.body.tickAgeSeconds as number;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan((Date.now() - (tick?.at ?? 0)) / 1000 + 0.1);

    await until("the clock to move past the first tick", () => Date.now() > (tick?.at ?? 0) + 20);
    await w.scheduler?.tick();
    const second = await healthOf(s.url);
    expect(Date.parse(second.body.lastTick as string)).toBeGreaterThan(tick?.at ?? 0);
  });

  it("calls a tick older than CONVENE_TICK_STALE_SECONDS stale, and still answers 200", async () => {
    process.env.CONVENE_TICK_STALE_SECONDS = "1";
    const { fx, config } = await eventSetup(hooks, { people: people(1), steps: [letterStep()] });
    const s = await serverOn(config, [fx.dir]);
    const w = inProcessWorker({ paths: [fx.dir], config, processors: false });
    hooks.cleanups.push(() => w.close());
    await w.ready;
    expect((await healthOf(s.url)).body.scheduler).toBe("ok");
    let last = await healthOf(s.url);
    await until(
      "the tick to age past a second",
      async () => {
        last = await healthOf(s.url);
        return last.body.scheduler === "stale";
      },
      10_000,
    );
    expect(last.status).toBe(200);
    expect(last.body.tickAgeSeconds as number).toBeGreaterThanOrEqual(1);
  });

  it("answers 503 when Redis is unreachable, and /metrics says redis_up 0 in bounded time", async () => {
    const redisUrl = `redis://127.0.0.1:${await closedPort()}`;
    const config = testConfig(uniquePrefix(), "", { redisUrl });
    const s = await serverOn(config);
    expect(await healthOf(s.url)).toEqual({
      status: 503,
      body: { redis: "unreachable", lastTick: null, tickAgeSeconds: null, scheduler: "unknown" },
    });
    const started = Date.now();
    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    const m = new Exposition(await res.text());
    expect(m.value("convene_redis_up")).toBe(0);
    expect(m.samples("convene_sends")).toEqual([]);
    expect(Date.now() - started).toBeLessThan(9_000);
  });
});

describe("/metrics with CONVENE_METRICS_TOKEN", () => {
  it("needs the Bearer token, and never echoes it", async () => {
    const token = "metrics-token-0123456789abcdef";
    process.env.CONVENE_METRICS_TOKEN = token;
    const { config } = await eventSetup(hooks, { people: people(1), steps: [letterStep()] });
    const s = await serverOn(config);
    const wrong: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${token}x` },
      { authorization: token },
    ];
    for (const headers of wrong) {
      const res = await fetch(`${s.url}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(await res.text()).not.toContain(token);
    }
    const ok = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    const text = await ok.text();
    expect(new Exposition(text).value("convene_redis_up")).toBe(1);
    expect(text).not.toContain(token);
    // /healthz stays open for the load balancer.
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });
});
