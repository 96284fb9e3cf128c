/**
 * The unsubscribe pages on a 375 px phone, in a real headless Chromium: nothing wider than the
 * screen, even with a long address and organizer name, and the button works without JavaScript.
 */
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ONE_CLICK_REASON } from "../../src/http/unsubscriptions.js";
import { deletePrefix, testHooks, uniquePrefix, writeEvent } from "../worker/fixture.js";
import { startServe } from "./serve-fixture.js";

const hooks = testHooks();
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const LONG = `a-very-long-local-part-that-goes-on-and-on-${"x".repeat(40)}@adistrictwithaverylongdomainnamethatnevertakesanybreak.example.org`;

let browser: Awaited<ReturnType<typeof chromium.launch>>;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});
afterAll(() => browser?.close());

describe("at 375 px", () => {
  it("the ask and done pages do not overflow, and the button unsubscribes with JavaScript off", async () => {
    const fx = writeEvent({
      people: [
        { email: LONG, name: "Superintendent Dr. Maria-Elena Gonzalez-Rodriguez", team: "t1" },
      ],
      steps: [],
    });
    const prefix = uniquePrefix();
    const s = await startServe({ redis: hooks.redis, prefix, dirs: [fx.dir] });
    hooks.cleanups.push(
      () => fx.cleanup(),
      () => deletePrefix(prefix),
      () => s.close(),
    );
    const context = await browser.newContext({
      viewport: { width: 375, height: 740 },
      javaScriptEnabled: false,
    });
    hooks.cleanups.push(() => context.close());
    const page = await context.newPage();
    await page.goto(`${s.url}/unsubscribe?token=${encodeURIComponent(s.token(LONG))}`);
    const widths = async () => {
      // A measuring script runs even with the page's JavaScript off: it is the test's, not the page's.
      return page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    };
    const [askWidth, viewport] = await widths();
    expect(askWidth).toBeLessThanOrEqual(viewport as number);
    await page.getByRole("button", { name: "Unsubscribe" }).click();
    await page.waitForLoadState();
    expect(await page.textContent("h1")).toBe("You are unsubscribed");
    const [doneWidth] = await widths();
    expect(doneWidth).toBeLessThanOrEqual(viewport as number);
    expect((await s.stores.suppressions.get(LONG))?.reason).toBe(ONE_CLICK_REASON);
  });
});
