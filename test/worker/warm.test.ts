/** Which steps the tick compiles ahead (src/worker/warm.ts): only those about to fall due. */
import { describe, expect, it } from "vitest";
import { stepsDueSoon, WARM_AHEAD_MS } from "../../src/worker/warm.js";

const NOW = Date.parse("2026-12-01T10:00:00Z");
const at = (ms: number) => new Date(NOW + ms).toISOString();
const send = (step: string, dueIn: number, expiresIn = dueIn + 86_400_000) => ({
  step,
  due: at(dueIn),
  expires: at(expiresIn),
});

describe("steps whose template is compiled ahead", () => {
  it("takes steps due within the lead, and late ones still inside their window", () => {
    const steps = stepsDueSoon(
      [
        send("soon", 60_000),
        send("at-the-edge", WARM_AHEAD_MS),
        send("later", WARM_AHEAD_MS + 1),
        send("late-but-open", -3_600_000),
        send("expired", -7_200_000, -1),
      ],
      NOW,
    );
    expect([...steps].sort()).toEqual(["at-the-edge", "late-but-open", "soon"]);
  });

  it("takes a step once, whatever its number of sends", () => {
    const many = Array.from({ length: 1000 }, () => send("letter", 1000));
    expect([...stepsDueSoon(many, NOW)]).toEqual(["letter"]);
  });
});
