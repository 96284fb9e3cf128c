/**
 * The announcement lists "upcoming" activities (review finding 8): what lies before the day it
 * is sent is left out, dates still TBD stay in.
 */

import { join } from "node:path";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { renderSend } from "../../src/mail/compose.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import type { RelatedSpec } from "../../src/model/schema.js";
import type { EventDefinition } from "../../src/model/types.js";
import { plan } from "../../src/planner/plan.js";
import { ROOT } from "../support/cli.js";

const config = loadConfig({ UNSUBSCRIBE_SECRET: "test-secret" });
const base = loadEventOrThrow(join(ROOT, "events", "ca-lmi-2017"), KINDS);

/** The bundled event plus related events on the given dates (the send is due 2017-06-23). */
function withRelated(extra: RelatedSpec[]): EventDefinition {
  return { ...base, event: { ...base.event, related: [...(base.event.related ?? []), ...extra] } };
}

async function announcementText(def: EventDefinition): Promise<string> {
  const sends = plan(def, def.registrations, DateTime.fromISO("2017-07-01T00:00:00Z"));
  const send = sends.find((s) => s.kind === "announcement");
  if (!send) throw new Error("no announcement planned");
  expect(send.dueLocal.slice(0, 10)).toBe("2017-06-23");
  return (await renderSend(def, send, { config })).text;
}

describe("the announcement of upcoming activities, sent 2017-06-23", () => {
  it("leaves out cohort sessions already held and keeps those still TBD", async () => {
    const text = await announcementText(base);
    // Bay Area (Nov 2016 - Mar 2017) and Southern California (Jan - Feb 2017) are over.
    expect(text).not.toContain("Bay Area Cohort");
    expect(text).not.toContain("Southern California Cohort");
    expect(text).not.toMatch(/November 29|January 24|February [67]|March 1/);
    expect(text).toContain("Sacramento Cohort");
    expect(text).toMatch(/Session 1: TBD/);
  });

  it("leaves out related events that ended before the send and keeps later, same-day and TBD ones", async () => {
    const text = await announcementText(
      withRelated([
        { id: "spring-forum", title: "Spring Labor Forum", startDate: "2017-05-02" },
        {
          id: "june-retreat",
          title: "June Partnership Retreat",
          startDate: "2017-06-20",
          endDate: "2017-06-22",
        },
        { id: "same-day", title: "Friday Webinar", startDate: "2017-06-23" },
      ] as RelatedSpec[]),
    );
    expect(text).not.toContain("Spring Labor Forum");
    expect(text).not.toContain("June Partnership Retreat");
    expect(text).toContain("Friday Webinar");
    expect(text).toContain("ABC West Coast Labor Management Institute");
    expect(text).toContain("Cal TURN Labor Management Collaboration Conference");
  });
});
