/**
 * The organizer's console in a real headless Chromium (JavaScript off: the pages need none),
 * against the server `convene serve` builds, on loopback with a real Redis, after a campaign
 * went out through a real SMTP server: log in; the Events page's step progress is what
 * `convene status --json` computes; a step paused with its button is held by the worker and
 * goes out on resume; a cancel asks first; a rendered message opens; a recipient is found.
 * Every page is screenshotted at 1280 and 390 px (test-artifacts/console/, not committed) and
 * nothing on it is wider than the viewport.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { parseSendId } from "../../src/planner/send.js";
import type { State } from "../../src/store/ledger.js";
import { STATES } from "../../src/store/ledger.js";
import { mergeRegistrations } from "../../src/worker/replan.js";
import { computeStatus } from "../../src/worker/status.js";
import { reach, TestClock } from "../support/clock.js";
import {
  dueSoon,
  eventSetup,
  inProcessWorker,
  letterStep,
  ROOT,
  testHooks,
} from "../worker/fixture.js";
import { ADMIN_TOKEN } from "./console-fixture.js";
import { SECRET, startServe } from "./serve-fixture.js";

const hooks = testHooks();
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const SHOTS = join(ROOT, "test-artifacts", "console");
const LONG = `a-long-local-part-that-goes-on-${"x".repeat(30)}@adistrictwithaverylongdomainnamethatnevertakesabreak.example.org`;
const PEOPLE = [
  { email: "ada@people.test", name: "Ada One", team: "t1" },
  { email: "bo@people.test", name: "Bo Two", team: "t1" },
  { email: LONG, name: "Superintendent Dr. Maria-Elena Gonzalez-Rodriguez", team: "t1" },
];

let browser: Browser;
beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});
afterAll(() => browser?.close());

/** Nothing wider than the window: the document, and no element's box past either edge. */
async function overflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const w = window.innerWidth;
    const out: string[] = [];
    if (document.documentElement.scrollWidth > w)
      out.push(`document ${document.documentElement.scrollWidth} > ${w}`);
    for (const el of Array.from(document.body.querySelectorAll("*"))) {
      const r = el.getBoundingClientRect();
      if (r.width && (r.right > w + 0.5 || r.left < -0.5))
        out.push(`${el.tagName}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
    return out;
  });
}

/** Each page in both widths: screenshot, then the overflow check. */
async function shoot(page: Page, name: string, widths = [1280, 390]): Promise<void> {
  // Times are local with the zone's name, never UTC ISO with milliseconds.
  expect(await page.textContent("body"), name).not.toMatch(/\d\d:\d\d:\d\d\.\d{3}Z/);
  for (const width of widths) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
    expect(await overflow(page), `${name} at ${width}px`).toEqual([]);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function legend(page: Page, step: string): Promise<Record<string, number>> {
  const li = page.locator(`[data-event="mini"] li[data-step="${step}"]`);
  const out: Record<string, number> = {};
  for (const s of ["planned", ...STATES]) {
    const item = li.locator(`.legend [data-state="${s}"]`);
    if (await item.count())
      out[s] = Number((await item.locator("strong, .n").first().textContent()) ?? "");
  }
  return out;
}

describe("the console in a browser", () => {
  it("logs in, shows status --json's progress, holds a paused step, previews a message, finds a recipient, fits 1280 and 390 px", async () => {
    const clock = new TestClock();
    const soon = dueSoon(30, "t1", clock.now());
    const { smtp, prefix, fx, config } = await eventSetup(hooks, {
      people: PEOPLE,
      steps: [
        letterStep("letter"),
        letterStep("followup", {
          subject: "Mini followup",
          trigger: { anchor: "registration", offset: "2h" },
        }),
        letterStep("later", {
          subject: "Mini later",
          trigger: { anchor: "registration", offset: "30d" },
        }),
      ],
      registrations: [soon.registration],
    });
    const cfg = { ...config, unsubscribeSecret: SECRET };
    const w = inProcessWorker({ paths: [fx.dir], config: cfg, clock: clock.now });
    hooks.cleanups.push(() => w.close());
    const server = await startServe({
      redis: hooks.redis,
      prefix,
      dirs: [fx.dir],
      admin: { token: ADMIN_TOKEN, config: cfg, clock: clock.now },
      rateLimit: { max: 10_000, windowMs: 60_000 },
    });
    hooks.cleanups.push(() => server.close());

    await reach(clock, w, "mini", soon.due.plus({ seconds: 1 }));
    await smtp.waitFor(3);

    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      javaScriptEnabled: false,
    });
    hooks.cleanups.push(() => context.close());
    const page = await context.newPage();

    // Not logged in: the login form.
    await page.goto(`${server.url}/console/`);
    expect(new URL(page.url()).pathname).toBe("/console/login");
    await shoot(page, "login");
    await page.fill("#token", ADMIN_TOKEN);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForLoadState();
    expect(await page.textContent("h1")).toBe("Events");

    // The progress on the Events page is status --json's, step by step.
    const statusNow = async () => {
      const def = loadEventOrThrow(fx.dir, KINDS);
      const regs = mergeRegistrations(
        def.registrations,
        await server.stores.registrations.list("mini"),
      );
      const now = clock.now();
      return computeStatus(
        def,
        plan(def, regs, now),
        await server.stores.ledger.all("mini"),
        await server.stores.control.get("mini"),
        now,
      ).status;
    };
    const status = await statusNow();
    expect(status.steps.map((s) => s.step)).toEqual(["letter", "followup", "later"]);
    for (const st of status.steps)
      expect(await legend(page, st.step), st.step).toEqual({ planned: st.planned, ...st.states });
    expect(status.steps[0]?.states.sent).toBe(3);
    await shoot(page, "events");

    // Pause the follow-up from the event's timeline.
    await page.click('[data-event="mini"] h2 a');
    await page.waitForLoadState();
    await shoot(page, "timeline");
    const followupAt = soon.registration.at.plus({ hours: 2 }).setZone("America/Los_Angeles");
    const dueText = await page.locator('li[data-step="followup"] dd').first().textContent();
    expect(dueText).toContain(
      `${followupAt.toFormat("ccc d LLL yyyy, HH:mm ZZZZ")} (America/Los_Angeles)`,
    );
    expect(dueText).toMatch(/\(in (1 hour|2 hours)\)/);
    await page.locator('li[data-step="followup"]').getByRole("button", { name: "Pause" }).click();
    await page.waitForLoadState();
    expect(await page.locator('li[data-step="followup"] [data-control]').textContent()).toBe(
      "paused",
    );
    expect((await server.stores.control.get("mini")).of("followup")).toBe("paused");

    // Its time comes: the worker holds it. Nothing reaches SMTP, its sends stay scheduled.
    const followupDue = soon.registration.at.plus({ hours: 2 });
    await reach(clock, w, "mini", followupDue.plus({ seconds: 5 }));
    const followupStates = async () =>
      [...(await server.stores.ledger.all("mini")).entries()]
        .filter(([id]) => parseSendId(id)?.step === "followup")
        .map(([, r]) => r.state);
    expect(await followupStates()).toEqual(["scheduled", "scheduled", "scheduled"]);
    expect(smtp.received.filter((r) => r.mail.subject === "Mini followup")).toEqual([]);
    await page.reload();
    expect((await statusNow()).steps[1]?.states.scheduled).toBe(3);

    // Cancel asks first (a page of its own), then the step is cancelled.
    await page
      .locator('li[data-step="later"]')
      .getByRole("button", { name: /^Cancel/ })
      .click();
    await page.waitForLoadState();
    expect(await page.textContent("h1")).toBe("Cancel?");
    expect((await server.stores.control.get("mini")).of("later")).toBeUndefined();
    await shoot(page, "cancel-confirm");
    await page.getByRole("button", { name: /^Yes, cancel/ }).click();
    await page.waitForLoadState();
    expect((await server.stores.control.get("mini")).of("later")).toBe("cancelled");

    // Resume: released now, and it goes out.
    await page.locator('li[data-step="followup"]').getByRole("button", { name: "Resume" }).click();
    await page.waitForLoadState();
    await reach(clock, w, "mini", followupDue.plus({ seconds: 6 }));
    await smtp.waitFor(6);
    expect(await followupStates()).toEqual(["sent", "sent", "sent"]);

    // The Events page follows, still equal to status --json.
    await page.goto(`${server.url}/console/`);
    const after = await statusNow();
    for (const st of after.steps)
      expect(await legend(page, st.step), st.step).toEqual({ planned: st.planned, ...st.states });
    expect(after.steps[2]?.states.skipped).toBe(3);

    // A step's sends, and a rendered message for one recipient.
    await page.goto(`${server.url}/console/events/mini/steps/letter?state=sent`);
    expect(await page.locator("li[data-send]").count()).toBe(3);
    await shoot(page, "step");
    await page
      .locator(`li[data-send]`, { hasText: "ada@people.test" })
      .getByRole("link", { name: "View the message" })
      .click();
    await page.waitForLoadState();
    const sent = smtp.received.find(
      (r) => r.to === "ada@people.test" && r.mail.subject === "Mini letter",
    );
    expect(await page.textContent('[data-field="subject"]')).toBe(sent?.mail.subject);
    expect(await page.textContent('[data-field="to"]')).toContain("ada@people.test");
    expect(await page.textContent('[data-field="text"]')).toContain("Ada One");
    await shoot(page, "message");
    const [htmlPage] = await Promise.all([
      page.waitForResponse((r) => r.url().includes("/message.html")),
      page.getByRole("link", { name: "Open the HTML version" }).click(),
    ]);
    expect(htmlPage.headers()["content-security-policy"]).toMatch(/^sandbox;/);
    await page.waitForLoadState();
    expect(await page.textContent("body")).toContain("Dear Ada One");
    await page.goBack();
    expect(smtp.received).toHaveLength(6);

    // A recipient: every send to them, and their suppression.
    await page.getByRole("link", { name: "Recipients" }).click();
    await page.waitForLoadState();
    await page.fill("#email", LONG.toUpperCase());
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForLoadState();
    const rows = page.locator("li[data-send]");
    expect(await rows.count()).toBe(3);
    const states = await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-state")));
    expect(states.sort()).toEqual(["sent", "sent", "skipped"] satisfies State[]);
    expect(await page.getAttribute("[data-suppressed]", "data-suppressed")).toBe("no");
    await shoot(page, "recipient");
    await page.getByRole("button", { name: "Suppress this address" }).click();
    await page.waitForLoadState();
    expect(await page.getAttribute("[data-suppressed]", "data-suppressed")).toBe("yes");
    expect(await server.stores.suppressions.get(LONG)).toBeDefined();

    // Calendar items and the failures list fit too.
    await page.goto(`${server.url}/console/events/mini/calendar`);
    await shoot(page, "calendar");
    await page.goto(`${server.url}/console/events/mini/failures`);
    await shoot(page, "failures");
  });
});
