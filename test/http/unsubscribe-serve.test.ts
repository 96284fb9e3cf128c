/**
 * `convene serve`'s one-click unsubscribe, over real HTTP on loopback with a real Redis: the
 * link in a real message (sent through a real SMTP server) unsubscribes its recipient, and the
 * next bulk step to them is `suppressed`; tokens convene did not sign change nothing.
 */
import { describe, expect, it } from "vitest";
import { ONE_CLICK_REASON } from "../../src/http/unsubscriptions.js";
import { parseSendId } from "../../src/planner/send.js";
import { redisAnswers } from "../../src/store/health.js";
import { connectRedis } from "../../src/store/redis.js";
import {
  deletePrefix,
  dueSoon,
  eventSetup,
  inProcessWorker,
  people,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "../worker/fixture.js";
import { closedPort, oneClick, SECRET, startServe, type TestServer } from "./serve-fixture.js";

const hooks = testHooks();

async function serve(o: Omit<Parameters<typeof startServe>[0], "redis" | "prefix"> = {}) {
  const prefix = uniquePrefix();
  const server = await startServe({ redis: hooks.redis, prefix, ...o });
  hooks.cleanups.push(
    () => deletePrefix(prefix),
    () => server.close(),
  );
  return server;
}

const link = (s: TestServer, token: string, path = "/unsubscribe") =>
  `${s.url}${path}?token=${encodeURIComponent(token)}`;

/** The https URL of a message's List-Unsubscribe header (RFC 2369: <mailto:…>, <https:…>). */
function unsubscribeUrl(raw: string): string {
  const head = raw.slice(0, raw.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, " ");
  const header = /^List-Unsubscribe: (.*)$/im.exec(head)?.[1] ?? "";
  return /<(https?:[^>]+)>/.exec(header)?.[1] ?? "";
}

function bulkStep(id: string): object {
  return {
    id,
    kind: "press-release-prompt",
    audience: "people",
    subject: `Mini ${id}`,
    trigger: { anchor: "registration", offset: "1m" },
    missedWindow: "1h",
  };
}

describe("one-click unsubscribe from a real message", () => {
  it("Gmail's POST to the List-Unsubscribe URL suppresses at once; the next step to them is suppressed and never sent", async () => {
    const ps = people(3);
    const gone = ps[1]?.email as string;
    const soon = dueSoon(2);
    const { smtp, prefix, fx, config } = await eventSetup(hooks, {
      people: ps,
      steps: [bulkStep("first")],
      registrations: [soon.registration],
    });
    const server = await startServe({ redis: hooks.redis, prefix, dirs: [fx.dir] });
    hooks.cleanups.push(() => server.close());
    const w = inProcessWorker({
      paths: [fx.dir],
      config: { ...config, unsubscribeSecret: SECRET, unsubscribeUrl: `${server.url}/unsubscribe` },
    });
    hooks.cleanups.push(() => w.close());
    await smtp.waitFor(3);

    const message = smtp.received.find((r) => r.to === gone);
    const url = unsubscribeUrl(message?.raw ?? "");
    expect(url.startsWith(`${server.url}/unsubscribe?token=`)).toBe(true);
    const res = await oneClick(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("location")).toBeNull();
    expect((await server.stores.suppressions.get(gone))?.reason).toBe(ONE_CLICK_REASON);

    fx.setSteps([bulkStep("first"), bulkStep("reminder")]);
    await w.scheduler?.tick();
    const reminder = async () =>
      [...(await server.stores.ledger.all("mini")).entries()]
        .filter(([id]) => parseSendId(id)?.step === "reminder")
        .map(([, r]) => r);
    await until("the reminder decided for all three", async () => {
      const rs = await reminder();
      return rs.length === 3 && rs.every((r) => r.state === "sent" || r.state === "suppressed");
    });
    const states = new Map((await reminder()).map((r) => [r.recipient, r.state]));
    expect(states.get(gone)).toBe("suppressed");
    expect([...states.values()].filter((s) => s === "sent")).toHaveLength(2);
    await smtp.waitFor(5);
    const reminders = smtp.received.filter((r) => r.mail.subject === "Mini reminder");
    expect(reminders.map((r) => r.to).sort()).toEqual(
      ps.map((p) => p.email).filter((e) => e !== gone),
    );
  });
});

describe("tokens convene did not sign", () => {
  const victim = "victim@district.org";
  const other = "other@district.org";
  const payload = (a: string) => Buffer.from(a).toString("base64url");

  it.each([
    [
      "forged (the victim's address, an HMAC of another)",
      (s: TestServer) => `${payload(victim)}.${s.token(other).split(".")[1]}`,
    ],
    ["truncated", (s: TestServer) => s.token(victim).slice(0, -4)],
    [
      "for another address with the victim's HMAC",
      (s: TestServer) => `${payload(other)}.${s.token(victim).split(".")[1]}`,
    ],
    [
      "signed with another (an old) secret",
      (s: TestServer) => s.token(victim, "an-old-secret-that-was-rotated-0123456789"),
    ],
    ["garbage", () => "<script>alert(1)</script>"],
    ["empty", () => ""],
  ])(
    "%s: 400 with a plain page, on GET, POST and undo, and nothing suppressed",
    async (_what, make) => {
      const s = await serve();
      const token = make(s);
      const get = await fetch(link(s, token));
      expect(get.status).toBe(400);
      expect(get.headers.get("content-type")).toMatch(/^text\/html/);
      expect(await get.text()).toContain("This unsubscribe link is not valid");
      expect((await oneClick(link(s, token))).status).toBe(400);
      expect((await oneClick(link(s, token, "/unsubscribe/undo"))).status).toBe(400);
      expect(await s.stores.suppressions.list()).toEqual([]);
    },
  );

  it("no token, or the token twice, is refused the same way", async () => {
    const s = await serve();
    const t = encodeURIComponent(s.token(victim));
    expect((await oneClick(`${s.url}/unsubscribe`)).status).toBe(400);
    expect((await oneClick(`${s.url}/unsubscribe?token=${t}&token=${t}`)).status).toBe(400);
    expect(await s.stores.suppressions.list()).toEqual([]);
  });

  it("a valid token without the one-click body does not unsubscribe (the GET page only asks)", async () => {
    const s = await serve();
    const page = await fetch(link(s, s.token(victim)));
    expect(page.status).toBe(200);
    const res = await fetch(link(s, s.token(victim)), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=Maybe",
    });
    expect(res.status).toBe(400);
    expect(await s.stores.suppressions.list()).toEqual([]);
  });
});

describe("one-click as multipart/form-data (RFC 8058 §3.2's SHOULD)", () => {
  const addr = "multipart@district.org";

  it("suppresses as the urlencoded POST does", async () => {
    const s = await serve();
    const form = new FormData();
    form.set("List-Unsubscribe", "One-Click");
    // fetch writes multipart/form-data with its boundary for a FormData body, no cookies.
    const res = await fetch(link(s, s.token(addr)), {
      method: "POST",
      body: form,
      redirect: "manual",
    });
    expect(res.status).toBe(200);
    expect((await s.stores.suppressions.get(addr))?.reason).toBe(ONE_CLICK_REASON);
  });

  it("with another value or a file in it, suppresses nothing", async () => {
    const s = await serve();
    const other = new FormData();
    other.set("List-Unsubscribe", "Maybe");
    const withFile = new FormData();
    withFile.set("List-Unsubscribe", new Blob(["One-Click"]), "x.txt");
    for (const body of [other, withFile]) {
      const res = await fetch(link(s, s.token(addr)), { method: "POST", body });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    expect(await s.stores.suppressions.list()).toEqual([]);
  });
});

describe("replay and undo", () => {
  const addr = "elena.ruiz@district.org";

  it("a replayed click is idempotent: one suppression, its first time kept", async () => {
    const s = await serve();
    expect((await oneClick(link(s, s.token(addr)))).status).toBe(200);
    const first = await s.stores.suppressions.get(addr);
    const again = await oneClick(link(s, s.token(addr.toUpperCase())));
    expect(again.status).toBe(200);
    expect(await s.stores.suppressions.list()).toEqual([first]);
  });

  it("undo within the window resubscribes; a second undo, or one after the window, does nothing", async () => {
    let now = new Date();
    const s = await serve({ now: () => now });
    const done = await oneClick(link(s, s.token(addr)));
    expect(await done.text()).toContain(`action="unsubscribe/undo?token=${s.token(addr)}"`);
    const undo = await oneClick(link(s, s.token(addr), "/unsubscribe/undo"));
    expect(undo.status).toBe(200);
    expect(await undo.text()).toContain("subscribed again");
    expect(await s.stores.suppressions.get(addr)).toBeUndefined();
    expect((await oneClick(link(s, s.token(addr), "/unsubscribe/undo"))).status).toBe(409);

    await oneClick(link(s, s.token(addr)));
    now = new Date(now.getTime() + 11 * 60_000);
    const late = await oneClick(link(s, s.token(addr), "/unsubscribe/undo"));
    expect(late.status).toBe(409);
    expect((await s.stores.suppressions.get(addr))?.reason).toBe(ONE_CLICK_REASON);
    // Past the window the page offers no undo either.
    expect(await (await fetch(link(s, s.token(addr)))).text()).not.toContain("unsubscribe/undo");
  });

  it("a click on an address already suppressed for a bounce keeps that reason, and its undo lifts nothing", async () => {
    const s = await serve();
    await s.stores.suppressions.add(addr, "SMTP 550 5.1.1 no such user");
    expect((await oneClick(link(s, s.token(addr)))).status).toBe(200);
    expect((await oneClick(link(s, s.token(addr), "/unsubscribe/undo"))).status).toBe(409);
    expect((await s.stores.suppressions.get(addr))?.reason).toBe("SMTP 550 5.1.1 no such user");
  });
});

describe("the pages", () => {
  it("name the recipient escaped, the organizer and the masked address; never the secret", async () => {
    const fx = writeEvent({
      people: [{ email: "evil@district.org", name: "<script>alert(1)</script>", team: "t1" }],
      steps: [bulkStep("first")],
    });
    hooks.cleanups.push(() => fx.cleanup());
    const s = await serve({ dirs: [fx.dir] });
    const res = await fetch(link(s, s.token("evil@district.org")));
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page).not.toContain("<script>");
    expect(page).toContain("Mini Organizers");
    expect(page).toContain("e***@district.org");
    expect(page).not.toContain("evil@district.org");
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(page).toContain('<input type="hidden" name="List-Unsubscribe" value="One-Click">');
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const done = await (await oneClick(link(s, s.token("evil@district.org")))).text();
    for (const p of [page, done]) expect(p).not.toContain(SECRET);
  });

  it("an address in no audience gets neutral wording", async () => {
    const s = await serve();
    const page = await (await fetch(link(s, s.token("nobody@district.org")))).text();
    expect(page).toContain("Stop e-mail from this sender to <strong>n***@district.org</strong>?");
  });

  it("are rate-limited per IP: 429 after the limit, /healthz exempt", async () => {
    const s = await serve({ rateLimit: { max: 3, windowMs: 60_000 } });
    for (let i = 0; i < 3; i++) expect((await fetch(link(s, "x"))).status).toBe(400);
    const limited = await fetch(link(s, s.token("a@district.org")));
    expect(limited.status).toBe(429);
    expect(await limited.text()).toContain("Too many requests");
    expect((await fetch(`${s.url}/nothing-here`)).status).toBe(429);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });
});

describe("/healthz", () => {
  it("200 with redis ok when Redis answers", async () => {
    const s = await serve();
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ redis: "ok" });
  });

  it("503 when it does not", async () => {
    const dead = connectRedis(`redis://127.0.0.1:${await closedPort()}`, "worker");
    hooks.cleanups.push(() => dead.disconnect());
    expect(await redisAnswers(dead, 300)).toBe(false);
    const prefix = uniquePrefix();
    const s = await startServe({ redis: dead, prefix });
    hooks.cleanups.push(() => s.close());
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ redis: "unreachable" });
  });
});
