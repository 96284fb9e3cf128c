/**
 * The console and API's locks, over real HTTP on loopback with a real Redis, after a campaign
 * really went out through an SMTP relay that wants a password: no page or API answer without
 * the admin token, no console POST without its CSRF token, a recipient named like a script
 * shown as text everywhere, and neither the SMTP password nor the admin token in any page, API
 * answer or log line.
 */
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectTestRedis,
  deletePrefix,
  dueSoon,
  inProcessWorker,
  testConfig,
  uniquePrefix,
  writeEvent,
} from "../worker/fixture.js";
import {
  ADMIN_TOKEN,
  type AuthRelay,
  authRelay,
  Client,
  capturedLog,
  SMTP_PASS,
} from "./console-fixture.js";
import { SECRET, startServe, type TestServer } from "./serve-fixture.js";

const XSS = "<script>alert(1)</script>";
const XSS_EMAIL = "xss@people.test";
const PEOPLE = [
  { email: "ada@people.test", name: "Ada One", team: "t1" },
  { email: XSS_EMAIL, name: XSS, team: "t1" },
];

let redis: Redis;
let relay: AuthRelay;
let server: TestServer;
let logText: () => string;
const prefix = uniquePrefix();
const cleanups: (() => unknown)[] = [];
/** Every page body and API answer the tests saw, for the secret check at the end. */
const seen: string[] = [];

beforeAll(async () => {
  redis = connectTestRedis();
  relay = await authRelay();
  const soon = dueSoon(1);
  const fx = writeEvent({
    people: PEOPLE,
    steps: [
      {
        id: "letter",
        kind: "invitation-letter",
        audience: "people",
        subject: "Mini letter",
        trigger: { anchor: "registration", offset: "1m" },
        missedWindow: "1h",
      },
    ],
    registrations: [soon.registration],
  });
  const config = { ...testConfig(prefix, relay.url), unsubscribeSecret: SECRET };
  const captured = capturedLog();
  logText = captured.text;
  const w = inProcessWorker({ paths: [fx.dir], config, log: captured.log });
  cleanups.push(
    () => fx.cleanup(),
    () => relay.close(),
    () => w.close(),
  );
  await relay.waitFor(2);
  server = await startServe({
    redis,
    prefix,
    dirs: [fx.dir],
    admin: { token: ADMIN_TOKEN, config },
    log: captured.log,
    rateLimit: { max: 10_000, windowMs: 60_000 },
  });
  cleanups.push(() => server.close());
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await deletePrefix(prefix);
  redis?.disconnect();
});

async function text(res: Response): Promise<string> {
  const body = await res.text();
  seen.push(body);
  return body;
}

const PAGES = [
  "/console/",
  "/console/events/mini",
  "/console/events/mini/steps/letter",
  "/console/events/mini/steps/letter?state=sent",
  "/console/events/mini/failures",
  "/console/events/mini/calendar",
  `/console/events/mini/steps/letter/message?recipient=${encodeURIComponent(XSS_EMAIL)}`,
  `/console/events/mini/steps/letter/message.html?recipient=${encodeURIComponent(XSS_EMAIL)}`,
  `/console/recipients?email=${encodeURIComponent(XSS_EMAIL)}`,
];

const API = [
  "/api/events",
  "/api/events/mini",
  "/api/events/mini/failures",
  `/api/recipients/${XSS_EMAIL}`,
];

describe("without the admin token", () => {
  it("every console page redirects to the login (303), and the login form refuses a wrong token", async () => {
    const c = new Client(server.url);
    for (const p of PAGES) {
      const res = await c.get(p);
      expect(res.status, p).toBe(303);
      expect(res.headers.get("location"), p).toBe("/console/login");
      await text(res);
    }
    const wrong = await c.login("not-the-admin-token-at-all");
    expect(wrong.status).toBe(401);
    expect(await text(wrong)).toMatch(/not this server&#x27;s admin token/);
    expect((await c.get("/console/")).status).toBe(303);
  });

  it("a forged session cookie is no session", async () => {
    const res = await fetch(`${server.url}/console/`, {
      headers: { cookie: `convene_session=${Date.now() + 3_600_000}` },
      redirect: "manual",
    });
    expect(res.status).toBe(303);
  });

  it("the API answers 401 JSON with no token or a wrong one, and takes no cookie for one", async () => {
    const c = new Client(server.url);
    expect((await c.login()).status).toBe(303);
    for (const p of API)
      for (const auth of [undefined, "Bearer wrong-token", `Basic ${ADMIN_TOKEN}`]) {
        const res = await c.request(p, auth ? { headers: { authorization: auth } } : {});
        expect(res.status, `${p} ${auth}`).toBe(401);
        expect(JSON.parse(await text(res)).error).toBe("unauthorized");
      }
    const post = await fetch(`${server.url}/api/events/mini/steps/letter/pause`, {
      method: "POST",
      headers: { authorization: "Bearer wrong" },
    });
    expect(post.status).toBe(401);
    expect((await server.stores.control.get("mini")).of("letter")).toBeUndefined();
  });
});

describe("CSRF", () => {
  it("a console POST without the CSRF token is refused (403) and changes nothing; with it, it works", async () => {
    const c = new Client(server.url);
    const noLogin = await c.post("/console/login", { token: ADMIN_TOKEN });
    expect(noLogin.status).toBe(403);
    expect((await c.login()).status).toBe(303);
    const bare = await c.post("/console/events/mini/pause", { step: "letter" });
    expect(bare.status).toBe(403);
    const forged = await c.post("/console/events/mini/pause", { step: "letter", _csrf: "x.y" });
    expect(forged.status).toBe(403);
    const suppress = await c.post("/console/recipients/suppress", { email: "ada@people.test" });
    expect(suppress.status).toBe(403);
    expect((await server.stores.control.get("mini")).of("letter")).toBeUndefined();
    expect(await server.stores.suppressions.get("ada@people.test")).toBeUndefined();

    const csrf = await c.csrfFrom("/console/events/mini");
    const ok = await c.post("/console/events/mini/pause", { step: "letter", _csrf: csrf });
    expect(ok.status).toBe(303);
    expect((await server.stores.control.get("mini")).of("letter")).toBe("paused");
    const resumed = await c.post("/console/events/mini/resume", { step: "letter", _csrf: csrf });
    expect(resumed.status).toBe(303);
    expect((await server.stores.control.get("mini")).of("letter")).toBeUndefined();
  });
});

describe("escaping", () => {
  it("a recipient named <script>alert(1)</script> is text on every page, never markup", async () => {
    const c = new Client(server.url);
    await c.login();
    const named: string[] = [];
    for (const p of PAGES) {
      const res = await c.get(p);
      expect(res.status, p).toBe(200);
      const body = await text(res);
      expect(body, p).not.toContain(XSS);
      expect(body, p).not.toMatch(/<script/i);
      if (body.includes("&lt;script&gt;alert(1)&lt;/script&gt;")) named.push(p);
    }
    // The pages that name recipients do name this one (escaped), so the check above looked at it.
    expect(named).toEqual(
      expect.arrayContaining([PAGES[2], PAGES[3], PAGES[6], PAGES[7], PAGES[8]]),
    );
  });
});

describe("secrets", () => {
  it("neither the SMTP password, the admin token nor UNSUBSCRIBE_SECRET is in any page, API answer or log line", async () => {
    const api = (p: string) =>
      fetch(`${server.url}${p}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    for (const p of API) {
      const res = await api(p);
      expect(res.status, p).toBe(200);
      await text(res);
    }
    const c = new Client(server.url);
    await c.login();
    for (const p of PAGES) await text(await c.get(p));
    const log = logText();
    // The log did record this session's work, so it is the log that was searched.
    expect(log).toMatch(/console control/);
    expect(log).toMatch(/console login refused/);
    expect(seen.length).toBeGreaterThan(30);
    for (const body of [...seen, log]) {
      expect(body).not.toContain(SMTP_PASS);
      expect(body).not.toContain(ADMIN_TOKEN);
      expect(body).not.toContain(SECRET);
    }
  });
});
