/**
 * The console's calendar items page and /api/events/:id/calendar after real invites and a real
 * update went out: each item's current SEQUENCE and how many recipients hold which version,
 * as the calendar state store (src/store/calendar-state.ts) records the deliveries.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  dueSoon,
  eventSetup,
  inProcessWorker,
  people,
  testHooks,
  until,
} from "../worker/fixture.js";
import { ADMIN_TOKEN, Client } from "./console-fixture.js";
import { SECRET, startServe, type TestServer } from "./serve-fixture.js";

const hooks = testHooks();
const ITEM = "day-2099-06-20";

async function calendarApi(s: TestServer) {
  const res = await fetch(`${s.url}/api/events/mini/calendar`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return (await res.json()) as { event: string; items: Record<string, unknown>[] };
}

async function holdersOnPage(c: Client): Promise<{ sequence: string; holds: string[] }> {
  const body = await (await c.get("/console/events/mini/calendar")).text();
  const li = body.slice(body.indexOf(`data-item="${ITEM}"`));
  const sequence = /data-field="sequence">(\d+)</.exec(li)?.[1] ?? "";
  const holds = [...li.matchAll(/<span data-holds="(\d+)">([^<]*)</g)].map(
    (m) => `${m[1]}:${m[2]}`,
  );
  return { sequence, holds };
}

describe("calendar items in the console", () => {
  it("show the SEQUENCE and who holds which version, before and after an update", async () => {
    const soon = dueSoon(1);
    const { smtp, prefix, fx, config } = await eventSetup(hooks, {
      people: people(3),
      registrations: [soon.registration],
      steps: [
        {
          id: "invite",
          kind: "calendar-invite",
          audience: "people",
          trigger: { anchor: "registration", offset: "1m" },
          items: [ITEM],
          missedWindow: "1h",
        },
      ],
    });
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
    const c = new Client(server.url);
    expect((await c.login()).status).toBe(303);

    await smtp.waitFor(3);
    const holders = async () =>
      (await calendarApi(server)).items.find((i) => i.id === ITEM)?.holders;
    await until(
      "three hold version 0",
      async () => JSON.stringify(await holders()) === JSON.stringify([{ sequence: 0, count: 3 }]),
    );
    expect(await holdersOnPage(c)).toEqual({ sequence: "0", holds: ["0:3 hold version 0"] });

    const file = join(fx.dir, "event.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace('start: "09:00"', 'start: "10:00"'));
    await w.scheduler?.tick();
    await smtp.waitFor(6);
    await until(
      "three hold version 1",
      async () => JSON.stringify(await holders()) === JSON.stringify([{ sequence: 1, count: 3 }]),
    );
    const item = (await calendarApi(server)).items.find((i) => i.id === ITEM);
    expect(item).toMatchObject({ id: ITEM, title: "Day one", sequence: 1, cancelled: false });
    expect(await holdersOnPage(c)).toEqual({ sequence: "1", holds: ["1:3 hold version 1"] });
  });
});
