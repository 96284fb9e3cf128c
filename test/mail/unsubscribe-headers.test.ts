/**
 * One organizer domain for Message-IDs, calendar UIDs and unsubscribe links, and one builder
 * for the List-Unsubscribe headers.
 */

import { join } from "node:path";
import ICAL from "ical.js";
import { DateTime } from "luxon";
import { simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { itemUid } from "../../src/calendar/uid.js";
import { loadConfig } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { toEml } from "../../src/mail/eml.js";
import { messageIdFor } from "../../src/mail/headers.js";
import {
  unsubscribeFor,
  unsubscribeHeaders,
  verifyUnsubscribeToken,
} from "../../src/mail/unsubscribe.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import type { EventDefinition } from "../../src/model/types.js";
import { plan } from "../../src/planner/plan.js";
import { ROOT } from "../support/cli.js";

const seed = loadEventOrThrow(join(ROOT, "test", "fixtures", "mail", "seed-letter"), KINDS);
/** The organizer wrote their domain with capitals, as people do. */
const def: EventDefinition = {
  ...seed,
  event: {
    ...seed.event,
    organizer: { ...seed.event.organizer, domain: "CdeFoundation.ORG" },
  },
};
const config = loadConfig({ UNSUBSCRIBE_SECRET: "headers-secret" });

describe("the organizer domain", () => {
  it("is the same, lowercased, in Message-IDs and calendar UIDs", () => {
    expect(messageIdFor("ev.step.0123", def)).toBe("<ev.step.0123@cdefoundation.org>");
    expect(itemUid(def.event, "day-1").split("@")[1]).toBe("cdefoundation.org");
  });

  it("a composed invite's Message-ID and its ICS UID share it", async () => {
    const send = plan(def, def.registrations, DateTime.fromISO("2017-07-01T00:00:00Z")).find(
      (s) => s.kind === "calendar-invite",
    );
    if (!send) throw new Error("no calendar-invite planned");
    const m = await simpleParser((await toEml(await composeMessage(def, send, { config }))).raw);
    const ics = m.attachments.find((a) => a.contentType === "text/calendar");
    const vevent = new ICAL.Component(
      ICAL.parse(ics?.content.toString("utf8") ?? ""),
    ).getFirstSubcomponent("vevent");
    const uid = String(vevent?.getFirstPropertyValue("uid"));
    expect(m.messageId?.replace(/^<.*@|>$/g, "")).toBe("cdefoundation.org");
    expect(uid.split("@")[1]).toBe("cdefoundation.org");
  });
});

describe("List-Unsubscribe", () => {
  it("unsubscribeFor links to the organizer's site by default, signed for the address", () => {
    const links = unsubscribeFor(def, "Someone@Example.test", config);
    const url = new URL(links.url);
    expect(`${url.origin}${url.pathname}`).toBe("https://cdefoundation.org/unsubscribe");
    expect(verifyUnsubscribeToken(url.searchParams.get("token") ?? "", "headers-secret")).toBe(
      "someone@example.test",
    );
    expect(links.mailto).toMatch(/^mailto:lmi@cdefoundation\.org\?subject=unsubscribe%20/);
  });

  it("unsubscribeHeaders gives both RFC 8058 headers from the same links", () => {
    const links = unsubscribeFor(def, "someone@example.test", config);
    expect(unsubscribeHeaders(links)).toEqual({
      "List-Unsubscribe": `<${links.mailto}>, <${links.url}>`,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    });
  });
});
