/**
 * What the MJML cache buys: the per-message cost of composing the invitation letter for 1,000
 * recipients with templates compiled once, next to the same messages with MJML compiled for
 * every message, measured in the same run. Run: npm run bench:render [-- <recipients>]
 */

import { join } from "node:path";
import { DateTime } from "luxon";
import { KINDS } from "../jobs/index.js";
import { loadConfig } from "../src/config.js";
import { sampleSend } from "../src/mail/check.js";
import { composeMessage } from "../src/mail/compose.js";
import { loadEventOrThrow } from "../src/model/load.js";
import { packageRoot } from "../src/model/paths.js";
import type { EventDefinition, Recipient } from "../src/model/types.js";
import { mjmlCompilations } from "../src/render/mjml.js";
import { clearTemplateCache } from "../src/render/template.js";

const N = Number(process.argv[2] ?? 1000);
const base = loadEventOrThrow(join(packageRoot(), "events", "ca-lmi-2017"), KINDS);
const step = base.campaign.steps.find((s) => s.kind === "invitation-letter");
if (!step) throw new Error("the example has no invitation-letter step");

const recipients: Recipient[] = Array.from({ length: N }, (_, i) => ({
  email: `superintendent${i}@district${i}.k12.test`,
  name: `Superintendent Number ${i}`,
  salutation: `Dr. Number ${i}`,
  organization: `District ${i}`,
  fields: {},
  source: { file: "bench", line: i + 2 },
}));
const def: EventDefinition = {
  ...base,
  audiences: { ...base.audiences, [step.audience]: recipients },
};
const due = DateTime.fromISO("2017-05-15T09:00", { zone: def.event.timezone });
const sends = recipients.map((r) => sampleSend(def, step, r, due));
const config = loadConfig({});

async function run(label: string, compileEachTime: boolean) {
  // One warm-up message so module loading and JIT are not billed to either path.
  await composeMessage(def, sends[0] as (typeof sends)[number], { config });
  const compilesBefore = mjmlCompilations();
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (const s of sends) {
    if (compileEachTime) clearTemplateCache();
    const m = await composeMessage(def, s, { config });
    bytes += String(m.html).length;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { label, ms, perMessage: ms / N, compiles: mjmlCompilations() - compilesBefore, bytes };
}

const cached = await run("cached (MJML compiled once)", false);
const uncached = await run("MJML compiled per message", true);
const fmt = (x: number) => x.toFixed(3).padStart(9);
process.stdout.write(
  `invitation letter, ${N} recipients\n` +
    `${"path".padEnd(30)} ${"total ms".padStart(10)} ${"ms/message".padStart(10)} ${"MJML runs".padStart(10)}\n` +
    [cached, uncached]
      .map(
        (r) =>
          `${r.label.padEnd(30)} ${r.ms.toFixed(0).padStart(10)} ${fmt(r.perMessage).padStart(10)} ${String(r.compiles).padStart(10)}`,
      )
      .join("\n") +
    `\nratio: the cached path is ${(uncached.perMessage / cached.perMessage).toFixed(1)}x cheaper per message (required: >= 20x)\n`,
);
if (uncached.perMessage / cached.perMessage < 20) process.exitCode = 1;
