import { DateTime } from "luxon";
import { simpleParser } from "mailparser";
import MailComposer from "nodemailer/lib/mail-composer/index.js";
import { describe, expect, it } from "vitest";
import { buildInvite } from "../../src/calendar/invite.js";
import { inviteMailParts } from "../../src/calendar/mime.js";
import { buildSaveTheDate } from "../../src/calendar/publish.js";
import { caLmi } from "./fixture.js";
import { expectChecklist } from "./ics-checklist.js";

const STAMP = DateTime.fromISO("2017-05-16T08:12:00Z");

async function compose(parts: ReturnType<typeof inviteMailParts>, extra: object = {}) {
  const raw = await new MailComposer({
    from: "California Labor-Management Initiative <lmi@cdefoundation.org>",
    to: "javier.ellison@fremont-usd.k12.test",
    subject: "CA LMI Summer Institute",
    // Whatever a template might have added is dropped by the invite parts merged over it.
    attachments: [{ filename: "flyer.pdf", content: "pdf" }],
    ...extra,
    ...parts,
  })
    .compile()
    .build();
  return { raw: raw.toString("utf8"), parsed: await simpleParser(raw) };
}

/** The Content-Type lines of the raw message, in order, with their nesting depth. */
function structure(raw: string): string[] {
  const out: string[] = [];
  const open: string[] = [];
  for (const line of raw.split("\r\n")) {
    const ct = /^Content-Type: ([^;]+)(?:;.*boundary="?([^"]+)"?)?/i.exec(line);
    const boundary = open.findIndex((b) => line === `--${b}--`);
    if (boundary >= 0) open.splice(boundary);
    if (ct) {
      out.push(`${"  ".repeat(open.length)}${ct[1]}`);
      if (ct[2]) open.push(ct[2]);
    }
  }
  return out;
}

describe("invite MIME", () => {
  const def = caLmi();
  const member = def.audiences["team-members"]?.[0];
  if (!member) throw new Error("no team member");

  it.each(["REQUEST", "CANCEL"] as const)(
    "%s: alternatives + .ics attachment, method matches",
    async (method) => {
      const inv = buildInvite(def, {
        itemId: "day-2017-06-21",
        recipient: member,
        sequence: method === "REQUEST" ? 0 : 1,
        method,
        stamp: STAMP,
      });
      const { raw, parsed } = await compose(
        inviteMailParts(
          inv,
          { text: "Day 2 of the institute", html: "<p>Day 2 of the institute</p>" },
          "day-2017-06-21",
        ),
      );
      // multipart/mixed( multipart/alternative(text/plain, text/html, text/calendar), application/ics )
      expect(structure(raw.replace(/\r\n(?=[ \t])/g, ""))).toEqual([
        "multipart/mixed",
        "  multipart/alternative",
        "    text/plain",
        "    text/html",
        "    text/calendar",
        "  application/ics",
      ]);
      expect(parsed.text?.trim()).toBe("Day 2 of the institute");
      expect(parsed.html).toContain("<p>Day 2 of the institute</p>");

      // mailparser lists the calendar alternative and the attachment; nothing else
      expect(parsed.attachments.map((a) => a.contentType)).toEqual([
        "text/calendar",
        "application/ics",
      ]);
      const [alt, file] = parsed.attachments;
      const altType = alt?.headers.get("content-type") as { params: Record<string, string> };
      expect(altType.params).toEqual({ charset: "utf-8", method });
      expect(alt?.contentDisposition).toBeUndefined();
      expect(file?.contentDisposition).toBe("attachment");
      expect(file?.filename).toBe("day-2017-06-21.ics");
      for (const a of [alt, file]) {
        const text = a?.content.toString("utf8") ?? "";
        expect(text).toBe(inv.ics);
        expectChecklist(text, {
          method,
          organizer: def.event.organizer.email,
          attendee: member.email,
        });
      }
    },
  );

  it("refuses parts whose method differs from the calendar's METHOD", () => {
    const inv = buildInvite(def, {
      itemId: "day-2017-06-21",
      recipient: member,
      sequence: 0,
      method: "REQUEST",
      stamp: STAMP,
    });
    expect(() =>
      inviteMailParts({ ...inv, method: "CANCEL" }, { text: "t", html: "h" }, "x"),
    ).toThrow(/METHOD:REQUEST/);
  });

  it("PUBLISH (save-the-date) keeps method=PUBLISH", async () => {
    const ics = buildSaveTheDate(def, "abc-west-coast-lmi-2017", { stamp: STAMP });
    const { parsed } = await compose(
      inviteMailParts(
        { ics, method: "PUBLISH" },
        { text: "t", html: "<p>h</p>" },
        "abc-west-coast-lmi-2017.ics",
      ),
    );
    const altType = parsed.attachments[0]?.headers.get("content-type") as {
      params: Record<string, string>;
    };
    expect(altType.params.method).toBe("PUBLISH");
    expect(parsed.attachments[1]?.filename).toBe("abc-west-coast-lmi-2017.ics");
  });
});
