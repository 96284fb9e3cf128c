/**
 * The README's first command on a machine with no Redis running: `convene rehearse
 * events/ca-lmi-2017` in a fresh folder, through the built CLI, once; then what an organizer
 * gets from it: the progress lines, a status table that fits 80 columns, and an outbox index
 * that lists every planned send once, readable on a laptop and on a phone.
 */

import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import type { OutboxReport } from "../../src/mail/outbox-report.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { STATES } from "../../src/store/ledger.js";
import { ROOT } from "../support/cli.js";
import { compareToGolden, outboxDigests, readGolden } from "../support/rehearsal-golden.js";
import {
  CLOSED_PORT,
  envWithoutRedis,
  expectCleanedUp,
  pathWith,
  type Run,
  removeDir,
  requireBuild,
  runCliBuilt,
  STARTED,
  scratchWithExample,
} from "./support.js";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = join(ROOT, "test-output", "screenshots");

let dir: string;
let run: Run;
let planned: { id: string; step: string; due: string }[];
let outbox: string;

beforeAll(async () => {
  requireBuild();
  dir = scratchWithExample();
  const env = envWithoutRedis(pathWith(dir, { redisServer: true }), CLOSED_PORT);
  run = await runCliBuilt(["rehearse", "events/ca-lmi-2017"], {
    cwd: dir,
    env,
    timeoutMs: 280_000,
  });
  const p = await runCliBuilt(["plan", "events/ca-lmi-2017", "--json"], { cwd: dir, env });
  planned = JSON.parse(p.stdout) as { id: string; step: string; due: string }[];
  outbox = join(dir, "outbox", "ca-lmi-2017-rehearsal");
}, 300_000);
afterAll(() => {
  if (dir) removeDir(dir);
});

describe("the first rehearsal, with no Redis running", () => {
  it("works, on a private Redis that is gone afterwards", async () => {
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.status, run.stderr).toBe(0);
    const started = run.stderr.split("\n").filter((l) => STARTED.test(l));
    expect(started).toHaveLength(1);
    expect(started[0]).toContain(".convene/redis");
    expect(run.stdout).toContain("open outbox/ca-lmi-2017-rehearsal/index.html");
    await expectCleanedUp(dir, Number(STARTED.exec(started[0] ?? "")?.[1]));
  });

  it("reports progress in a few plain lines when not on a terminal", () => {
    const lines = run.stderr.trim().split("\n");
    // Derived from the campaign, so adding a step to it changes nothing here.
    const steps = new Set(planned.map((s) => s.step));
    expect(lines).toContain(
      `Rehearsing ${planned.length} sends at ${new Set(planned.map((s) => s.due)).size} moments, from Mon May 15 2017, 9:00 AM PDT.`,
    );
    expect(
      lines.filter((l) => /^ {2}[a-z0-9-]+: \d+ of \d+ sent \(\d+:\d\d\)$/.test(l)),
    ).toHaveLength(steps.size);
    expect(lines.at(-1)).toMatch(/^Rehearsal finished in \d+:\d\d\.$/);
    expect(lines.length).toBeLessThan(15);
  });

  it("prints a status table that fits 80 columns", () => {
    const table = run.stdout.split("\n\n")[1]?.split("\n") ?? [];
    expect(table[0]).toMatch(/^STEP\s+PLANNED\s+SENT/);
    expect(table.length).toBeGreaterThan(8);
    for (const line of table) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(run.stdout).toMatch(/invitation-letter\s+104\s+104/);
  });

  it("lists every planned send exactly once in the index, with its state", () => {
    const html = readFileSync(join(outbox, "index.html"), "utf8");
    const rows = [...html.matchAll(/data-send="([^"]+)" data-state="([^"]+)"/g)].map((m) => ({
      id: m[1] as string,
      state: m[2] as string,
    }));
    const report = JSON.parse(readFileSync(join(outbox, "report.json"), "utf8")) as OutboxReport;
    const reported = report.groups.flatMap((g) => g.rows);
    expect(rows.map((r) => r.id)).toEqual(reported.map((r) => r.id));
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    for (const s of planned)
      expect(
        rows.filter((r) => r.id === s.id),
        s.id,
      ).toHaveLength(1);
    expect(rows).toHaveLength(planned.length);
    for (const r of rows) expect(STATES as readonly string[]).toContain(r.state);
    expect(rows.every((r) => r.state === "sent")).toBe(true);

    // Grouped by step, each with its kind, due time in the event's zone and counts.
    const steps = loadEventOrThrow(join(dir, "events", "ca-lmi-2017"), KINDS).campaign.steps;
    expect(report.groups.map((g) => g.step)).toEqual(steps.map((s) => s.id));
    expect(html).toContain("invitation-letter · due Mon May 15 2017, 9:00 AM PDT · 104 sent");
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  });

  // Here rather than in a file of its own: this rehearsal already wrote the outbox, and a
  // second one would cost the suite most of a minute. Rules: test/cli/rehearsal-golden.test.ts.
  it("writes every message byte for byte as the baseline, apart from Date and DTSTAMP", () => {
    const diff = compareToGolden(readGolden(), outboxDigests(outbox));
    const first = (keys: string[]) => ({ count: keys.length, first: keys.slice(0, 10) });
    expect({
      changed: first(diff.changed),
      missing: first(diff.missing),
      added: first(diff.added),
    }).toEqual({ changed: first([]), missing: first([]), added: first([]) });
  });

  it("gives each message page its headers and a way back to the index", () => {
    const report = JSON.parse(readFileSync(join(outbox, "report.json"), "utf8")) as OutboxReport;
    const invite = report.groups.find((g) => g.kind === "calendar-invite")?.rows[0];
    expect(invite?.html).toBeDefined();
    const page = readFileSync(join(outbox, invite?.html ?? "missing"), "utf8");
    for (const h of ["From:", "To:", "Date:", "Subject:", "Attachments:"])
      expect(page).toContain(`<b>${h}</b>`);
    expect(page).toContain('href="index.html"');
    expect(page).toMatch(/<b>Date:<\/b> \w{3} \w{3} \d+ 2017, \d+:\d\d [AP]M P[DS]T/);
    expect(page).toContain(`href="${invite?.ics}"`);
  });

  describe("in a browser (Chromium, headless; .ci/run installs Debian's chromium)", () => {
    let browser: Browser;
    beforeAll(async () => {
      mkdirSync(SHOTS, { recursive: true });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
      });
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
    });

    for (const width of [1280, 375])
      it(`shows the subject link inside a ${width} px wide viewport`, async () => {
        const page = await browser.newPage({ viewport: { width, height: 800 } });
        try {
          await page.goto(pathToFileURL(join(outbox, "index.html")).href);
          await page.screenshot({ path: join(SHOTS, `outbox-index-${width}.png`) });
          const link = page.locator(".subject a").first();
          const box = await link.boundingBox();
          expect(box).not.toBeNull();
          if (!box) return;
          expect(box.x).toBeGreaterThanOrEqual(0);
          expect(box.x + box.width).toBeLessThanOrEqual(width);
          expect(box.y + box.height).toBeLessThanOrEqual(800);
          const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
          expect(scrollWidth).toBeLessThanOrEqual(width);
        } finally {
          await page.close();
        }
      }, 60_000);
  });
});
