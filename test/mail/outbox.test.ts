import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DateTime } from "luxon";
import { simpleParser } from "mailparser";
import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import type { OutboxEntry } from "../../src/mail/outbox.js";
import { createMailer } from "../../src/mail/transport.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { ROOT } from "../support/cli.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const def = loadEventOrThrow(join(ROOT, "test", "fixtures", "mail", "seed-letter"), KINDS);
const sends = plan(def, def.registrations, DateTime.fromISO("2017-07-01T00:00:00Z"));

describe("the outbox (no SMTP_URL)", () => {
  it("writes one .eml per message and an index listing every one, even when sent at once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "convene-outbox-"));
    dirs.push(dir);
    const config = loadConfig({ OUTBOX_DIR: dir });
    const mailer = createMailer(config);
    expect(mailer.kind).toBe("outbox");
    const infos = await Promise.all(
      sends.map(async (s) => mailer.send(await composeMessage(def, s, { config }))),
    );
    await mailer.close();
    expect(infos.map((i) => i.messageId).sort()).toEqual(
      sends.map((s) => `<${s.id}@cdefoundation.org>`).sort(),
    );

    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as OutboxEntry[];
    expect(index).toHaveLength(sends.length);
    const whens = index.map((e) => e.when);
    expect(whens).toEqual([...whens].sort());
    const html = readFileSync(join(dir, "index.html"), "utf8");
    for (const s of sends) {
      const e = index.find((x) => x.messageId === `<${s.id}@cdefoundation.org>`);
      expect(e, s.id).toBeDefined();
      if (!e) continue;
      expect(e.kind).toBe(s.kind);
      expect(e.step).toBe(s.step);
      expect(e.to).toContain(s.recipient);
      expect(e.eml).toBe(`${s.id}.eml`);
      const parsed = await simpleParser(readFileSync(join(dir, e.eml)));
      expect(parsed.messageId).toBe(e.messageId);
      expect(parsed.subject).toBe(e.subject);
      expect(existsSync(join(dir, e.html ?? "missing"))).toBe(true);
      expect(html).toContain(`href="${e.eml}"`);
      expect(html).toContain(`href="${e.html}"`);
      if (s.kind === "calendar-invite") {
        expect(readFileSync(join(dir, e.ics ?? "missing"), "utf8")).toContain("BEGIN:VCALENDAR");
        expect(html).toContain(`href="${e.ics}"`);
        // Other kinds link only an "add to calendar" file (the letter's agenda, a save-the-date).
      } else if (e.ics) expect(readFileSync(join(dir, e.ics), "utf8")).toContain("METHOD:PUBLISH");
    }
    // Names from CSVs are escaped in the index page too.
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;");
  });

  it("keeps earlier messages in the index when a new mailer writes to the same folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "convene-outbox-"));
    dirs.push(dir);
    const config = loadConfig({ OUTBOX_DIR: dir });
    const [a, b] = sends;
    if (!a || !b) throw new Error("need two sends");
    const m1 = createMailer(config);
    await m1.send(await composeMessage(def, a, { config }));
    await m1.close();
    const m2 = createMailer(config);
    await m2.send(await composeMessage(def, b, { config }));
    await m2.close();
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as OutboxEntry[];
    expect(index.map((e) => e.messageId).sort()).toEqual(
      [a, b].map((s) => `<${s.id}@cdefoundation.org>`).sort(),
    );
  });
});
