import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DateTime } from "luxon";
import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { createLogger } from "../../src/worker/logger.js";
import { rehearsalPrefix, rehearse } from "../../src/worker/rehearsal.js";
import { loadWorkerSettings } from "../../src/worker/settings.js";
import { deletePrefix, people, uniquePrefix, writeEvent } from "./fixture.js";

const cleanups: (() => void | Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe("convene rehearse", () => {
  it("runs a past campaign in simulated time through the worker into the outbox, once per send", async () => {
    const zone = "America/Los_Angeles";
    const t0 = DateTime.fromISO("2017-05-10T09:00", { zone });
    // t1 registers before the reminder, t2 after it: only t2's and t3's people are reminded.
    const fx = writeEvent({
      people: people(9, (i) => `t${(i % 3) + 1}`),
      steps: [
        {
          id: "letter",
          kind: "invitation-letter",
          audience: "people",
          trigger: { at: "2017-05-10 09:00" },
        },
        {
          id: "reminder",
          kind: "deadline-reminder",
          audience: "people",
          trigger: { at: "2017-05-12 09:00" },
          when: { registered: false },
        },
      ],
      registrations: [
        { team: "t1", at: t0.plus({ hours: 1 }) },
        { team: "t2", at: t0.plus({ days: 3 }) },
      ],
    });
    const prefix = uniquePrefix();
    const outbox = mkdtempSync(join(tmpdir(), "convene-rehearsal-"));
    cleanups.push(fx.cleanup, () => rmSync(outbox, { recursive: true, force: true }));
    const config = { ...loadConfig({}), prefix, outboxDir: outbox };
    cleanups.push(() => deletePrefix(rehearsalPrefix(config, "mini")));

    const run = () =>
      rehearse({
        path: fx.dir,
        kinds: KINDS,
        config,
        settings: loadWorkerSettings({}),
        log: createLogger({ level: "silent", pretty: false }),
      });
    const r = await run();
    const planned = plan(
      loadEventOrThrow(fx.dir, KINDS),
      loadEventOrThrow(fx.dir, KINDS).registrations,
      DateTime.utc(),
    );
    expect(planned.map((s) => s.step).sort()).toEqual([
      ...Array(9).fill("letter"),
      ...Array(6).fill("reminder"),
    ]);

    const index = JSON.parse(readFileSync(join(r.outboxDir, "index.json"), "utf8")) as {
      messageId: string;
      step: string;
      when: string;
    }[];
    expect(index.map((m) => m.messageId).sort()).toEqual(
      planned.map((s) => `<${s.id}@mini.test>`).sort(),
    );
    expect(new Set(index.filter((m) => m.step === "reminder").map((m) => m.when))).toEqual(
      new Set(["2017-05-12T16:00:00.000Z"]),
    );
    for (const step of r.status.steps) expect(step.states.sent).toBe(step.planned);

    // A second rehearsal starts from scratch: same messages, not doubled, nothing skipped as already sent.
    const again = await run();
    const index2 = JSON.parse(
      readFileSync(join(again.outboxDir, "index.json"), "utf8"),
    ) as unknown[];
    expect(index2).toHaveLength(index.length);
    for (const step of again.status.steps) expect(step.states.sent).toBe(step.planned);
  });
});
