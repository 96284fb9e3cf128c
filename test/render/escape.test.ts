import { join } from "node:path";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import type { MessageKind } from "../../src/model/schema.js";
import { plan } from "../../src/planner/plan.js";
import { ROOT } from "../support/cli.js";
import { eventDirFrom } from "../support/event-dir.js";

const DISTRICT = `O'Hare & "Sons" USD`;
const HOSTILE = "<script>alert(1)</script> O'Brien & Sons";
const def = loadEventOrThrow(join(ROOT, "test", "fixtures", "mail", "seed-letter"), KINDS);
const sends = plan(def, def.registrations, DateTime.fromISO("2017-07-01T00:00:00Z"));
const config = loadConfig({});

describe("values from CSVs in message bodies", () => {
  for (const kind of ["invitation-letter", "deadline-reminder", "save-the-date"] as MessageKind[]) {
    it(`${kind}: a hostile name is escaped in HTML and intact in text`, async () => {
      const send = sends.find((s) => s.kind === kind && s.recipient === "obrien@sons.k12.test");
      expect(send).toBeDefined();
      if (!send) return;
      const msg = await composeMessage(def, send, { config });
      const html = String(msg.html);
      const text = String(msg.text);
      expect(html).not.toContain("<script>");
      expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt; O&#x27;Brien &amp; Sons");
      expect(text).toContain(HOSTILE);
      expect(msg.to).toEqual({ name: HOSTILE, address: "obrien@sons.k12.test" });
    });
  }

  it("a district name with quotes and ampersands is escaped in the press-release draft", async () => {
    // A copy of the fixture whose district column has every character HTML escapes, written
    // the way a spreadsheet exports it (CSV-quoted), so the loader's parsing is covered too.
    const built = eventDirFrom(join(ROOT, "test", "fixtures", "mail", "seed-letter"), {
      "recipients/team-members.csv": (csv) =>
        csv.replaceAll(",Fremont Unified School District", `,"${DISTRICT.replaceAll('"', '""')}"`),
    });
    try {
      const quoted = loadEventOrThrow(built.dir, KINDS);
      const send = plan(
        quoted,
        quoted.registrations,
        DateTime.fromISO("2017-07-01T00:00:00Z"),
      ).find((s) => s.kind === "press-release-prompt");
      if (!send) throw new Error("no press-release send planned");
      const msg = await composeMessage(quoted, send, { config });
      const html = String(msg.html);
      expect(String(msg.text)).toContain(`${DISTRICT} team takes part`);
      expect(html).toContain("O&#x27;Hare &amp; &quot;Sons&quot; USD team takes part");
      expect(html).not.toContain(DISTRICT);
      expect(html).not.toContain("Fremont Unified School District");
    } finally {
      built.cleanup();
    }
  });
});
