/**
 * Console pages over real HTTP (no browser): an edit with a mistake is named on the Events
 * page while the last good version stays shown; a preview for someone outside the audience is
 * a 404 that says so; a paused event offers only the event's resume; logging out ends the
 * session; an unknown event is 404.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import {
  deletePrefix,
  letterStep,
  people,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "../worker/fixture.js";
import { ADMIN_TOKEN, Client } from "./console-fixture.js";
import { startServe } from "./serve-fixture.js";

const hooks = testHooks();

async function setup(n = 2) {
  const fx = writeEvent({
    people: people(n),
    steps: [letterStep("letter", { trigger: { anchor: "registration", offset: "2d" } })],
    // Registered now: the letter is due in two days, so every send is planned and scheduled.
    registrations: [{ team: "t1", at: DateTime.utc() }],
  });
  const prefix = uniquePrefix();
  const server = await startServe({
    redis: hooks.redis,
    prefix,
    dirs: [fx.dir],
    admin: { token: ADMIN_TOKEN },
  });
  hooks.cleanups.push(
    () => fx.cleanup(),
    () => deletePrefix(prefix),
    () => server.close(),
  );
  const c = new Client(server.url);
  expect((await c.login()).status).toBe(303);
  return { fx, server, c };
}

describe("console pages", () => {
  it("name an event folder whose edit does not load, and keep showing the version before it", async () => {
    const { fx, c } = await setup();
    expect(await (await c.get("/console/")).text()).toContain('data-event="mini"');
    writeFileSync(join(fx.dir, "campaign.yaml"), "steps:\n  - id: <b>broken</b>\n    kind: nope\n");
    // The console, like the worker, reads an edit once its files have settled (about a second).
    let body = "";
    await until(
      "the events page names the broken folder",
      async () => {
        body = await (await c.get("/console/")).text();
        return body.includes(`data-problems="${fx.dir}"`);
      },
      10_000,
    );
    expect(body).toMatch(/campaign\.yaml:\d+:\d+: /);
    expect(body).toContain("as it was before this edit");
    expect(body).toContain('data-event="mini"');
    expect(body).not.toContain("<b>broken</b>");
  });

  it("a message preview for an address outside the step's audience is a 404 that says so", async () => {
    const { c } = await setup();
    const res = await c.get(
      "/console/events/mini/steps/letter/message?recipient=stranger%40x.test",
    );
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("stranger@x.test is not in audience");
    const ok = await c.get(
      "/console/events/mini/steps/letter/message?recipient=person00000%40people.test",
    );
    expect(ok.status).toBe(200);
  });

  it("a paused event offers the event's resume, not the steps'", async () => {
    const { c, server } = await setup();
    const csrf = await c.csrfFrom("/console/events/mini");
    expect((await c.post("/console/events/mini/pause", { _csrf: csrf })).status).toBe(303);
    expect((await server.stores.control.get("mini")).of("letter")).toBe("paused");
    const body = await (await c.get("/console/events/mini")).text();
    expect(body).toContain("Resume the whole event");
    const step = body.slice(body.indexOf('li data-step="letter"'));
    expect(step).toContain('data-control="paused"');
    expect(step).not.toMatch(/>Resume</);
    expect(step).toMatch(/>Pause</);
  });

  it("says what a control did, and only that: a link cannot put words on the page", async () => {
    const { c } = await setup();
    const csrf = await c.csrfFrom("/console/events/mini");
    const res = await c.post("/console/events/mini/pause", { _csrf: csrf, step: "letter" });
    expect(res.status).toBe(303);
    const after = await (await c.get(res.headers.get("location") ?? "")).text();
    expect(after).toContain('<p class="card">Paused step letter.</p>');
    const lure = "Your session expired. Log in again at https://evil.example/console";
    for (const q of [
      `done=${encodeURIComponent(lure)}`,
      `done=pause&step=${encodeURIComponent(lure)}`,
      `done=pause&released=${encodeURIComponent(lure)}`,
    ]) {
      const body = await (await c.get(`/console/events/mini?${q}`)).text();
      expect(body, q).not.toContain("evil.example");
    }
  });

  it("a repeated or empty parameter is a 400 or 404, never a 500 nor the whole event", async () => {
    const { c, server } = await setup();
    for (const path of [
      "/console/recipients?email=a%40x.test&email=b%40x.test",
      "/console/events/mini/steps/letter/message?recipient=a%40x.test&recipient=b%40x.test",
      "/console/events/mini/steps/letter/message.html?recipient=a%40x.test&recipient=b%40x.test",
    ])
      expect((await c.get(path)).status, path).toBe(400);
    const csrf = await c.csrfFrom("/console/events/mini");
    const post = (body: string) =>
      c.request("/console/events/mini/pause", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `_csrf=${encodeURIComponent(csrf)}&${body}`,
      });
    expect((await post("step=letter&step=letter")).status).toBe(400);
    expect((await post("step=")).status).toBe(404);
    const controls = await server.stores.control.get("mini");
    expect([...controls.entries()]).toEqual([]);
  });

  it("logging out ends the session; an unknown event is 404", async () => {
    const { c } = await setup();
    expect((await c.get("/console/events/nope")).status).toBe(404);
    const csrf = await c.csrfFrom("/console/");
    const out = await c.post("/console/logout", { _csrf: csrf });
    expect(out.status).toBe(303);
    const after = await c.get("/console/");
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toBe("/console/login");
  });

  it("a step's sends come a page at a time", async () => {
    const { c } = await setup(450);
    const sendsOn = (body: string) => (body.match(/<li data-send=/g) ?? []).length;
    // Handlebars escapes = and & in attribute values; a browser reads them back.
    const page = async (p: string) =>
      (await (await c.get(p)).text()).replaceAll("&#x3D;", "=").replaceAll("&amp;", "&");
    const first = await page("/console/events/mini/steps/letter");
    expect(sendsOn(first)).toBe(200);
    expect(first).toContain("Sends 1–200 of 450");
    expect(first).toContain('href="/console/events/mini/steps/letter?page=2" rel="next"');
    expect(first).not.toContain('rel="prev"');
    const last = await page("/console/events/mini/steps/letter?page=3");
    expect(sendsOn(last)).toBe(50);
    expect(last).toContain("Sends 401–450 of 450");
    expect(last).toContain('href="/console/events/mini/steps/letter?page=2" rel="prev"');
    expect(last).not.toContain('rel="next"');
    const filtered = await page("/console/events/mini/steps/letter?state=scheduled&page=9");
    expect(filtered).toContain("Sends 401–450 of 450");
    expect(filtered).toContain('href="/console/events/mini/steps/letter?state=scheduled&page=2"');
  });

  it("the sends that need attention come a page at a time too", async () => {
    // Due long ago and never sent: every send is missed, so all of them need attention.
    const fx = writeEvent({
      people: people(250),
      steps: [letterStep("letter", { trigger: { at: "2001-01-02 09:00" } })],
    });
    const prefix = uniquePrefix();
    const server = await startServe({
      redis: hooks.redis,
      prefix,
      dirs: [fx.dir],
      admin: { token: ADMIN_TOKEN },
    });
    hooks.cleanups.push(
      () => fx.cleanup(),
      () => deletePrefix(prefix),
      () => server.close(),
    );
    const c = new Client(server.url);
    expect((await c.login()).status).toBe(303);
    const sendsOn = (body: string) =>
      (body.match(/<li data-send=[^>]*data-state="missed"/g) ?? []).length;
    const page = async (p: string) => (await (await c.get(p)).text()).replaceAll("&#x3D;", "=");
    const first = await page("/console/events/mini/failures");
    expect(sendsOn(first)).toBe(200);
    expect(first).toContain("Sends 1–200 of 250");
    expect(first).toContain('href="/console/events/mini/failures?page=2" rel="next"');
    const last = await page("/console/events/mini/failures?page=2");
    expect(sendsOn(last)).toBe(50);
    expect(last).toContain('href="/console/events/mini/failures?page=1" rel="prev"');
  });
});
