/**
 * An announcement leaves out sessions held before it is sent, unless its step asks for them
 * with `values: { showPast: "yes" }`; then they are listed as already held (issue 9, item 9).
 */

import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { renderSend } from "../../src/mail/compose.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import type { EventDefinition } from "../../src/model/types.js";
import { allSends, BERLIN, CA_LMI } from "./messages.js";

const config = loadConfig({ UNSUBSCRIBE_SECRET: "test-secret" });

async function announcement(def: EventDefinition): Promise<string> {
  const send = allSends(def).find((s) => s.kind === "announcement");
  if (!send) throw new Error("no announcement");
  return (await renderSend(def, send, { config })).text;
}

function withoutShowPast(def: EventDefinition): EventDefinition {
  const steps = def.campaign.steps.map((s) =>
    s.kind === "announcement" ? { ...s, values: {} } : s,
  );
  return { ...def, campaign: { ...def.campaign, steps } };
}

describe("past sessions in an announcement", () => {
  const berlin = loadEventOrThrow(BERLIN, KINDS);

  it("lists them as already held when the step asks (showPast: yes)", async () => {
    const text = await announcement(berlin);
    expect(text).toMatch(/Session 1: January 21, 2026, 9:00 AM – 4:00 PM GMT\+1 \(already held\)/);
    expect(text).not.toMatch(/April 22, 2026[^\n]*already held/);
  });

  it("leaves them out otherwise", async () => {
    const text = await announcement(withoutShowPast(berlin));
    expect(text).not.toContain("January 21, 2026");
    expect(text).not.toContain("already held");
    expect(text).toContain("April 22, 2026");
    expect(await announcement(loadEventOrThrow(CA_LMI, KINDS))).not.toContain("already held");
  });
});
