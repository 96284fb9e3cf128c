/**
 * The JSON API over real HTTP, after a campaign went out through a real SMTP server that
 * refused one address: its shapes, its agreement with `convene status --json`'s function, and
 * pause / resume / cancel through the same control store `convene pause` uses.
 */
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { mergeRegistrations } from "../../src/worker/replan.js";
import { computeStatus } from "../../src/worker/status.js";
import {
  dueSoon,
  eventSetup,
  inProcessWorker,
  letterStep,
  people,
  testHooks,
  until,
} from "../worker/fixture.js";
import { ADMIN_TOKEN } from "./console-fixture.js";
import { SECRET, startServe, type TestServer } from "./serve-fixture.js";

const hooks = testHooks();
const REFUSED = "person00001@people.test";

async function setup(refused: readonly string[] = [REFUSED]) {
  const soon = dueSoon(1);
  const { smtp, prefix, fx, config } = await eventSetup(hooks, {
    people: people(3),
    steps: [
      letterStep("letter"),
      letterStep("later", {
        subject: "Mini later",
        trigger: { anchor: "registration", offset: "2d" },
      }),
    ],
    registrations: [soon.registration],
  });
  smtp.setPolicy((address) =>
    refused.includes(address) ? { code: 550, message: "5.1.1 mailbox unavailable" } : undefined,
  );
  const cfg = { ...config, unsubscribeSecret: SECRET };
  const w = inProcessWorker({ paths: [fx.dir], config: cfg });
  hooks.cleanups.push(() => w.close());
  const server = await startServe({
    redis: hooks.redis,
    prefix,
    dirs: [fx.dir],
    admin: { token: ADMIN_TOKEN, config: cfg },
  });
  hooks.cleanups.push(() => server.close());
  await until("the letter decided for all three", async () => {
    const recs = [...(await server.stores.ledger.all("mini")).values()];
    return recs.filter((r) => r.state === "sent" || r.state === "failed").length === 3;
  });
  return { server, dir: fx.dir };
}

function api(s: TestServer, path: string, method = "GET") {
  return fetch(`${s.url}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

async function statusJson(s: TestServer, dir: string) {
  const def = loadEventOrThrow(dir, KINDS);
  const regs = mergeRegistrations(def.registrations, await s.stores.registrations.list("mini"));
  const now = DateTime.utc();
  return computeStatus(
    def,
    plan(def, regs, now),
    await s.stores.ledger.all("mini"),
    await s.stores.control.get("mini"),
    now,
  );
}

describe("the JSON API", () => {
  it("events, an event, its failures and a recipient, with status --json's step objects", async () => {
    const { server, dir } = await setup();
    const { status, failures } = await statusJson(server, dir);

    const events = await json(await api(server, "/events"));
    expect(events).toEqual({
      events: [
        {
          id: "mini",
          title: "Mini Institute",
          timezone: "America/Los_Angeles",
          nextDue: status.steps[1]?.nextDue,
          steps: status.steps,
        },
      ],
    });
    expect(status.steps[0]?.states).toMatchObject({ sent: 2, failed: 1 });

    const ev = await json(await api(server, "/events/mini"));
    expect(ev.control).toBeNull();
    const steps = ev.steps as Record<string, unknown>[];
    expect(steps.map((s) => s.step)).toEqual(["letter", "later"]);
    for (const [i, st] of status.steps.entries())
      expect(steps[i]).toMatchObject({ ...st, audience: "people", audienceSize: 3, control: null });
    expect(String(steps[0]?.firstDue)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const f = await json(await api(server, "/events/mini/failures"));
    expect(f).toEqual({ event: "mini", total: 1, offset: 0, limit: 500, next: null, failures });
    expect(failures.map((x) => [x.recipient, x.state])).toEqual([[REFUSED, "failed"]]);
    expect(failures[0]?.response).toMatch(/550/);

    const r = await json(
      await api(server, `/recipients/${encodeURIComponent(REFUSED.toUpperCase())}`),
    );
    expect(r.email).toBe(REFUSED);
    // A 550 suppresses the address (the worker's rule); the API says so.
    expect(r.suppression).toMatchObject({ reason: expect.stringMatching(/550/) });
    const sends = r.sends as Record<string, unknown>[];
    expect(sends.map((s) => [s.step, s.state])).toEqual([
      ["letter", "failed"],
      ["later", "scheduled"],
    ]);
    expect(String(sends[0]?.response)).toMatch(/550/);

    expect((await api(server, "/events/nope")).status).toBe(404);
    expect(await json(await api(server, "/nothing-here"))).toMatchObject({ error: "not_found" });
  });

  it("pages the failures with ?offset and ?limit, and refuses a bad or repeated one", async () => {
    const second = "person00002@people.test";
    const { server, dir } = await setup([REFUSED, second]);
    const { failures } = await statusJson(server, dir);
    expect(failures).toHaveLength(2);
    const first = await json(await api(server, "/events/mini/failures?limit=1"));
    expect(first).toEqual({
      event: "mini",
      total: 2,
      offset: 0,
      limit: 1,
      next: 1,
      failures: [failures[0]],
    });
    const rest = await json(await api(server, "/events/mini/failures?offset=1&limit=1"));
    expect(rest).toMatchObject({ total: 2, offset: 1, next: null, failures: [failures[1]] });
    for (const q of ["limit=0", "limit=ten", "limit=5001", "offset=-1", "limit=1&limit=2"]) {
      const res = await api(server, `/events/mini/failures?${q}`);
      expect(res.status, q).toBe(400);
      expect(String((await json(res)).message)).toMatch(/limit|offset/);
    }
  });

  it("pause, resume and cancel a step or the whole event, as convene pause/resume/cancel do", async () => {
    const { server } = await setup();
    const controls = () => server.stores.control.get("mini");

    const paused = await api(server, "/events/mini/steps/later/pause", "POST");
    expect(await json(paused)).toEqual({
      event: "mini",
      step: "later",
      action: "pause",
      control: "paused",
    });
    expect((await controls()).of("later")).toBe("paused");

    const resumed = await json(await api(server, "/events/mini/steps/later/resume", "POST"));
    expect(resumed).toMatchObject({ action: "resume", control: null, released: 0 });
    expect((await controls()).of("later")).toBeUndefined();

    expect(await json(await api(server, "/events/mini/pause", "POST"))).toMatchObject({
      step: null,
      control: "paused",
    });
    expect((await controls()).of("letter")).toBe("paused");
    expect((await json(await api(server, "/events/mini", "GET"))).control).toBe("paused");
    await api(server, "/events/mini/resume", "POST");
    expect((await controls()).of("letter")).toBeUndefined();

    expect(await json(await api(server, "/events/mini/steps/later/cancel", "POST"))).toMatchObject({
      control: "cancelled",
    });
    const again = await api(server, "/events/mini/steps/later/resume", "POST");
    expect(again.status).toBe(409);
    expect((await controls()).of("later")).toBe("cancelled");
    const ev = await json(await api(server, "/events/mini"));
    const later = (ev.steps as Record<string, unknown>[]).find((s) => s.step === "later");
    expect(later).toMatchObject({
      control: "cancelled",
      states: expect.objectContaining({ skipped: 3 }),
    });

    expect((await api(server, "/events/mini/steps/nope/pause", "POST")).status).toBe(404);
    expect((await controls()).of("nope")).toBeUndefined();
  });
});
