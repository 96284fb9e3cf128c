/**
 * Issue 11's step-done line from the real worker: a step of five letters sent through a loopback
 * SMTP server gives exactly one "letter: 5/5 sent in … s" line, however often the scheduler ticks.
 */
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import {
  dueSoon,
  eventSetup,
  inProcessWorker,
  letterStep,
  people,
  testHooks,
  until,
} from "./fixture.js";

const hooks = testHooks();

describe("the worker's step line", () => {
  it("one line when the five letters of a step are sent, not one per tick", async () => {
    const { smtp, fx, config } = await eventSetup(hooks, {
      people: people(5),
      steps: [letterStep()],
      registrations: [dueSoon(2).registration],
    });
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        cb();
      },
    });
    const w = inProcessWorker({
      paths: [fx.dir],
      config,
      log: pino({ level: "info" }, sink),
    });
    hooks.cleanups.push(() => w.close());
    await w.ready;
    await smtp.waitFor(5);
    const stepLines = () =>
      lines.map((l) => JSON.parse(l).msg as string).filter((m) => m.startsWith("letter: "));
    await until("the step line", async () => {
      await w.scheduler?.tick();
      return stepLines().length > 0;
    });
    await w.scheduler?.tick();
    await w.scheduler?.tick();
    expect(stepLines()).toHaveLength(1);
    expect(stepLines()[0]).toMatch(/^letter: 5\/5 sent in \d+\.\d s$/);
    // Re-timed after it went out (a deadline moved): the same sends, so no second line.
    fx.setSteps([letterStep("letter", { trigger: { anchor: "registration" } })]);
    for (let i = 0; i < 3; i++) await w.scheduler?.tick();
    expect(stepLines()).toHaveLength(1);
    expect(smtp.received).toHaveLength(5);
  });
});
