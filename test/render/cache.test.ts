import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { DateTime } from "luxon";
import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import type { Send } from "../../src/planner/send.js";
import { mjmlCompilations } from "../../src/render/mjml.js";
import { ROOT } from "../support/cli.js";
import { baseFiles, removeDir, writeEventDir } from "../support/event-dir.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
const config = loadConfig({});

/** 60 superintendents, and the real letter template under a name no other test compiles. */
function eventWithManyRecipients(marker: string) {
  const dir = writeEventDir({});
  dirs.push(dir);
  const partials = relative(join(dir, "templates"), join(ROOT, "templates", "partials"));
  const rows = Array.from({ length: 60 }, (_, i) => `r${i}@d${i}.test,Person ${i},team-${i},`);
  const letter = readFileSync(join(ROOT, "templates", "invitation-letter.mjml"), "utf8")
    .replace("<mjml>", `<mjml>\n  <!-- ${marker} -->`)
    .replaceAll('path="./partials/', `path="${partials}/`);
  const campaign = `steps:
  - id: letter
    kind: invitation-letter
    audience: supers
    template: letter-${marker}
    trigger: { at: "2017-05-15 09:00" }
`;
  const files = baseFiles(campaign, {
    "supers.csv": `email,name,team,timezone\n${rows.join("\n")}\n`,
    [`templates/letter-${marker}.mjml`]: letter,
  });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return loadEventOrThrow(dir, KINDS);
}

describe("MJML compilation", () => {
  it("happens once per template, however many recipients are rendered", async () => {
    const marker = `m${Date.now()}${Math.random().toString(36).slice(2, 8)}`;
    const def = eventWithManyRecipients(marker);
    const sends = plan(def, [], DateTime.fromISO("2017-05-01T00:00:00Z"));
    expect(sends).toHaveLength(60);
    const before = mjmlCompilations();
    const htmls = new Set<string>();
    for (const s of sends) htmls.add(String((await composeMessage(def, s, { config })).html));
    expect(mjmlCompilations() - before).toBe(1);
    // Every recipient got their own letter from that one compilation.
    expect(htmls.size).toBe(60);
    // Rendering again, concurrently, compiles nothing more.
    await Promise.all(sends.map((s) => composeMessage(def, s, { config })));
    expect(mjmlCompilations() - before).toBe(1);
  });
});

describe("rendering", () => {
  it("gives identical output for the same inputs", async () => {
    const def = loadEventOrThrow(join(ROOT, "test", "fixtures", "mail", "seed-letter"), KINDS);
    const sends = plan(def, def.registrations, DateTime.fromISO("2017-07-01T00:00:00Z"));
    const kinds = new Set(sends.map((s) => s.kind));
    expect(kinds.size).toBeGreaterThanOrEqual(5);
    const one = async (s: Send) => {
      const m = await composeMessage(def, s, { config });
      return JSON.stringify([m.subject, m.html, m.text, m.headers, m.messageId, m.date]);
    };
    for (const s of sends) expect(await one(s)).toBe(await one(s));
    // A fresh load of the same files renders the same bytes too.
    const again = loadEventOrThrow(join(ROOT, "test", "fixtures", "mail", "seed-letter"), KINDS);
    const s0 = sends[0] as Send;
    const m1 = await composeMessage(def, s0, { config });
    const m2 = await composeMessage(again, s0, { config });
    expect(m2.html).toBe(m1.html);
    expect(m2.text).toBe(m1.text);
  });
});
