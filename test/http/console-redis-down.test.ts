/**
 * The console and the API when Redis does not answer: a page says so with a 503 in bounded
 * time, instead of the request hanging until Redis returns. The "Redis" here accepts the
 * connection and never replies (a hung or partitioned server); serve's connection, like the
 * real one, retries forever and queues its commands.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, type Redis } from "../../src/store/redis.js";
import { ADMIN_TOKEN, Client } from "./console-fixture.js";
import { startServe, type TestServer } from "./serve-fixture.js";

const EVENT_DIR = "events/ca-lmi-2017";
/** Far more than the bound below: a request still hanging at this point fails the test. */
const GIVE_UP_MS = 8_000;

let silent: Server;
const sockets: Socket[] = [];
let redis: Redis;
let server: TestServer;

beforeAll(async () => {
  silent = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const port = (silent.address() as { port: number }).port;
  redis = connectRedis(`redis://127.0.0.1:${port}`, "worker");
  server = await startServe({
    redis,
    prefix: "convene-test-redis-down",
    dirs: [EVENT_DIR],
    admin: { token: ADMIN_TOKEN },
    storeTimeoutMs: 500,
  });
});

afterAll(async () => {
  await server?.close();
  redis?.disconnect();
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent?.close(r));
});

const api = (path: string, method = "GET") =>
  fetch(`${server.url}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(GIVE_UP_MS),
  });

describe("the console with Redis not answering", () => {
  it("answers its pages 503 in bounded time", async () => {
    const c = new Client(server.url);
    expect((await c.login()).status).toBe(303);
    for (const path of [
      "/console/",
      "/console/events/ca-lmi-2017",
      "/console/recipients?email=someone@example.org",
    ]) {
      const res = await c.request(path, { signal: AbortSignal.timeout(GIVE_UP_MS) });
      expect(res.status, path).toBe(503);
      expect(await res.text()).toContain("Temporarily unavailable");
    }
  });

  it("answers the API 503 with why, reads and controls alike", async () => {
    for (const [path, method, why] of [
      ["/events", "GET", /Redis did not answer/],
      ["/events/ca-lmi-2017", "GET", /Redis did not answer/],
      // A change is not even tried on a connection that is not up (console-redis-away.test.ts).
      ["/events/ca-lmi-2017/steps/reminder-7d/pause", "POST", /nothing was changed/],
    ] as const) {
      const res = await api(path, method);
      expect(res.status, path).toBe(503);
      expect(((await res.json()) as { message: string }).message).toMatch(why);
    }
  });
});
