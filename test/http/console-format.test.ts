/** How the console says times: local, with the zone's name, relative; reasons localised. */
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { localReason, localTime, relativeTime } from "../../src/http/console/format.js";

const LA = "America/Los_Angeles";

describe("console times", () => {
  it("a UTC instant reads in the event's zone with the zone's name, across DST", () => {
    expect(localTime(Date.parse("2017-06-20T16:00:00Z"), LA)).toBe(
      "Tue 20 Jun 2017, 09:00 PDT (America/Los_Angeles)",
    );
    expect(localTime(Date.parse("2017-12-20T17:00:00.123Z"), LA)).toBe(
      "Wed 20 Dec 2017, 09:00 PST (America/Los_Angeles)",
    );
  });

  it("relative to the clock it is given", () => {
    const now = DateTime.fromISO("2017-06-20T12:00:00Z");
    expect(relativeTime(now.plus({ days: 3 }).toMillis(), now)).toBe("in 3 days");
    expect(relativeTime(now.minus({ hours: 2 }).toMillis(), now)).toBe("2 hours ago");
  });

  it("ISO instants in a ledger reason are said in local time, the rest kept", () => {
    expect(
      localReason("not sent by 2017-05-27T06:59:59.000Z, the end of its missed window", LA),
    ).toBe(
      "not sent by Fri 26 May 2017, 23:59 PDT (America/Los_Angeles), the end of its missed window",
    );
    expect(localReason("SMTP 550: mailbox unavailable", LA)).toBe("SMTP 550: mailbox unavailable");
  });
});
