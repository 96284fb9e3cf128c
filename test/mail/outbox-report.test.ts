import { join } from "node:path";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { reportHtml } from "../../src/mail/outbox-report.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { Controls } from "../../src/store/control.js";
import type { LedgerRecord, State } from "../../src/store/ledger.js";
import { buildReport } from "../../src/worker/rehearsal.js";
import { ROOT } from "../support/cli.js";

const def = loadEventOrThrow(join(ROOT, "test", "fixtures", "mail", "seed-letter"), KINDS);
const now = DateTime.fromISO("2017-07-01T00:00:00Z");
const sends = plan(def, def.registrations, now);

function record(state: State, recipient: string, reason?: string): LedgerRecord {
  return { state, attempts: 1, recipient, firstAt: 0, at: 0, ...(reason ? { reason } : {}) };
}

describe("the rehearsal's report (index.html from plan and ledger)", () => {
  it("lists sends that did not go out, with their reason, each once, grouped by step", () => {
    expect(sends.length).toBeGreaterThanOrEqual(3);
    const [a, b, c] = sends;
    if (!a || !b || !c) throw new Error("fixture too small");
    const ledger = new Map<string, LedgerRecord>([
      [a.id, record("sent", a.recipient)],
      [b.id, record("suppressed", b.recipient, "the address is suppressed (unsubscribed)")],
      [c.id, record("failed", c.recipient, "550 5.7.1 message refused")],
      // Only the ledger knows this one: planned once, then the team registered.
      [
        `${def.event.id}.${a.step}.0123456789abcdef`,
        record("skipped", "gone@example.org", "the team registered"),
      ],
    ]);
    const r = buildReport(def, sends, ledger, new Controls({}), now, []);
    const rows = r.groups.flatMap((g) => g.rows);
    expect(rows).toHaveLength(sends.length + 1);
    expect(new Set(rows.map((x) => x.id)).size).toBe(rows.length);
    // Not in the ledger and past its window: missed, with the window's end in the event's zone.
    for (const s of sends.slice(3))
      expect(rows.find((x) => x.id === s.id)).toMatchObject({
        state: "missed",
        reason: expect.stringMatching(/^not sent by \w{3} \w{3} \d+ 2017, \d+:\d\d [AP]M P[DS]T/),
      });
    expect(rows.find((x) => x.id === b.id)?.reason).toContain("suppressed");
    expect(rows.find((x) => x.id === c.id)?.reason).toBe("550 5.7.1 message refused");
    expect(rows.find((x) => x.recipient === "gone@example.org")?.state).toBe("skipped");
    expect(rows.find((x) => x.id === a.id)?.reason).toBeUndefined();

    const html = reportHtml(r);
    for (const x of rows) expect(html).toContain(`data-send="${x.id}" data-state="${x.state}"`);
    expect(html).toContain("550 5.7.1 message refused");
    expect(html).toContain("the team registered");
    expect(r.groups.map((g) => g.step)).toEqual(
      def.campaign.steps.map((s) => s.id).filter((id) => rows.some((x) => x.step === id)),
    );
  });

  it("escapes what comes from files and the ledger", () => {
    const [a] = sends;
    if (!a) throw new Error("fixture too small");
    const ledger = new Map([[a.id, record("failed", a.recipient, "<script>alert(1)</script>")]]);
    const html = reportHtml(buildReport(def, [a], ledger, new Controls({}), now, []));
    expect(html).not.toContain("<script>alert(1)");
    expect(html).toContain("&lt;script&gt;");
  });
});
