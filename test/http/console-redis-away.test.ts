/**
 * An organizer's change while serve's Redis is away: the request answers 503 at once and
 * nothing is changed, not even later. Without the check, the pause waited in ioredis's offline
 * queue past its 503 and landed when Redis came back. A real redis-server of the test's own is
 * stopped and started again on the same port.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, type Redis } from "../../src/store/redis.js";
import { type OwnRedis, startOwnRedis } from "../firstrun/redis-servers.js";
import { until } from "../worker/fixture.js";
import { ADMIN_TOKEN } from "./console-fixture.js";
import { startServe, type TestServer } from "./serve-fixture.js";

const PORT = 6463;
const EVENT = "ca-lmi-2017";
const PREFIX = "convene-test-redis-away";

let own: OwnRedis;
let redis: Redis;
let server: TestServer;

beforeAll(async () => {
  own = await startOwnRedis(PORT);
  redis = connectRedis(own.url, "worker");
  server = await startServe({
    redis,
    prefix: PREFIX,
    dirs: [`events/${EVENT}`],
    admin: { token: ADMIN_TOKEN },
  });
});

afterAll(async () => {
  await server?.close();
  redis?.disconnect();
  await own?.stop();
});

const api = (path: string, method = "GET") =>
  fetch(`${server.url}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(8_000),
  });

describe("an organizer's change while Redis is away", () => {
  it("is refused with a 503 that says nothing changed, and does not land once Redis is back", async () => {
    expect((await api(`/events/${EVENT}`)).status).toBe(200);
    await own.stop();
    await until("serve notices Redis is gone", () => redis.status !== "ready");

    const started = Date.now();
    const res = await api(`/events/${EVENT}/steps/reminder-7d/pause`, "POST");
    expect(res.status).toBe(503);
    expect(((await res.json()) as { message: string }).message).toMatch(/nothing was changed/);
    // At once, not after the 5 s bound a silent Redis gets.
    expect(Date.now() - started).toBeLessThan(2_000);

    own = await startOwnRedis(PORT);
    await until("serve reconnects", () => redis.status === "ready", 20_000);
    // Anything queued offline is flushed on reconnect; a second after it, the pause is still absent.
    await new Promise((r) => setTimeout(r, 1_000));
    const controls = await server.stores.control.get(EVENT);
    expect(controls.of("reminder-7d")).toBeUndefined();
    // And now that it is back, the same request works.
    expect((await api(`/events/${EVENT}/steps/reminder-7d/pause`, "POST")).status).toBe(200);
    expect((await server.stores.control.get(EVENT)).of("reminder-7d")).toBe("paused");
  }, 40_000);
});
