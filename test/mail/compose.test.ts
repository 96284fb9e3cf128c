import { join } from "node:path";
import { DateTime } from "luxon";
import { type ParsedMail, simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { toEml } from "../../src/mail/eml.js";
import { unsubscribeToken, verifyUnsubscribeToken } from "../../src/mail/unsubscribe.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import type { Send } from "../../src/planner/send.js";
import { ROOT } from "../support/cli.js";

const config = loadConfig({
  UNSUBSCRIBE_SECRET: "test-secret",
  UNSUBSCRIBE_URL: "https://lists.example.org/unsubscribe",
});
const def = loadEventOrThrow(join(ROOT, "test", "fixtures", "mail", "seed-letter"), KINDS);
const sends = plan(def, def.registrations, DateTime.fromISO("2017-07-01T00:00:00Z"));

function sendOf(step: string, recipient?: string): Send {
  const s = sends.find((x) => x.step === step && (!recipient || x.recipient === recipient));
  if (!s) throw new Error(`no send for ${step}`);
  return s;
}

async function parsed(send: Send, now?: DateTime): Promise<ParsedMail> {
  const msg = await composeMessage(def, send, { config, ...(now ? { now } : {}) });
  return simpleParser((await toEml(msg)).raw);
}

describe("composed messages, parsed back with mailparser", () => {
  it("the letter has html, text, From, Reply-To, Message-ID, Date and no List-Unsubscribe", async () => {
    const send = sendOf("invitation-letter", "thomas.goldberg@alameda-coe.k12.test");
    const m = await parsed(send);
    expect(m.from?.value).toEqual([
      { name: "California Labor-Management Initiative", address: "lmi@cdefoundation.org" },
    ]);
    expect(m.replyTo?.value).toEqual([{ name: "Ed Honowitz", address: "ed@cdefoundation.org" }]);
    expect(m.messageId).toBe(`<${send.id}@cdefoundation.org>`);
    expect(DateTime.fromJSDate(m.date as Date).toMillis()).toBe(
      DateTime.fromISO("2017-05-15T09:00", { zone: "America/Los_Angeles" }).toMillis(),
    );
    expect(m.subject).toBe(
      "Invitation: California Labor-Management Initiative Summer Institute, June 20-21, 2017",
    );
    expect(m.html).toContain("Dear Superintendent Goldberg:");
    expect(m.text).toContain("Dear Superintendent Goldberg:");
    // mailparser files List-* headers under "list"; the raw lines are checked too.
    expect(m.headers.has("list")).toBe(false);
    expect(m.headerLines.filter((h) => h.key.startsWith("list-"))).toEqual([]);
    // Only the institute's agenda, to add to a calendar (issue 9, item 8).
    expect(m.attachments.map((a) => a.filename)).toEqual(["seed-letter.ics"]);
  });

  it("the reminder carries both List-Unsubscribe headers with a verifiable token", async () => {
    const send = sendOf("reminder-7d", "thomas.goldberg@alameda-coe.k12.test");
    const m = await parsed(send);
    const raw = m.headerLines.find((h) => h.key === "list-unsubscribe")?.line ?? "";
    const value = raw.replace(/^List-Unsubscribe:\s*/i, "").replace(/\r?\n\s+/g, " ");
    const links = [...value.matchAll(/<([^>]+)>/g)].map((x) => x[1] as string);
    expect(links).toHaveLength(2);
    const mailto = links.find((l) => l.startsWith("mailto:")) as string;
    const https = new URL(links.find((l) => l.startsWith("https:")) as string);
    expect(mailto).toMatch(/^mailto:lmi@cdefoundation\.org\?subject=unsubscribe%20/);
    expect(`${https.origin}${https.pathname}`).toBe("https://lists.example.org/unsubscribe");
    const token = https.searchParams.get("token") as string;
    expect(verifyUnsubscribeToken(token, "test-secret")).toBe(
      "thomas.goldberg@alameda-coe.k12.test",
    );
    expect(verifyUnsubscribeToken(token, "another-secret")).toBeUndefined();
    expect(decodeURIComponent(mailto)).toContain(token);
    const post = m.headerLines.find((h) => h.key === "list-unsubscribe-post")?.line;
    expect(post).toBe("List-Unsubscribe-Post: List-Unsubscribe=One-Click");
    const list = m.headers.get("list") as { unsubscribe?: { url?: string; mail?: string } };
    expect(list.unsubscribe?.url).toBe(https.href);
    expect(m.subject).toMatch(/^Reminder: please register .* by May 26, 2017$/);
    expect(m.text).toContain("please register by May 26, 2017");
    expect(m.text).toContain("Registration is free for your first five team members.");
    expect(m.html).toContain(
      'href="http://cdefoundation.org/lmi/ca-lmi-meetings/2017-summer-institute/"',
    );
    // The body's unsubscribe link is the same signed link.
    expect(m.html).toContain(`https://lists.example.org/unsubscribe?token&#x3D;${token}`);
  });

  it("tokens cannot be forged for another address", () => {
    const t = unsubscribeToken("a@example.org", "s");
    const [, mac] = t.split(".");
    const forged = `${Buffer.from("b@example.org").toString("base64url")}.${mac}`;
    expect(verifyUnsubscribeToken(forged, "s")).toBeUndefined();
    expect(verifyUnsubscribeToken("garbage", "s")).toBeUndefined();
  });

  it("every bulk kind is marked for one-click unsubscribe, the others are not", async () => {
    for (const s of sends) {
      const m = await composeMessage(def, s, { config });
      const h = m.headers as Record<string, string>;
      const bulk = ["deadline-reminder", "save-the-date", "announcement", "press-release-prompt"];
      expect(h["List-Unsubscribe-Post"] !== undefined, s.step).toBe(bulk.includes(s.kind));
    }
  });

  it("the save-the-date is about the related event and carries the step's attachment", async () => {
    const m = await parsed(sendOf("abc-save-the-date", "thomas.goldberg@alameda-coe.k12.test"));
    expect(m.subject).toBe(
      "Save the date: ABC West Coast Labor Management Institute, October 25-26, 2017",
    );
    expect(m.text).toContain("Wednesday, October 25, 2017 & Thursday, October 26, 2017");
    expect(m.text).toContain("Holiday Inn, 7000 Beach Blvd., Buena Park, California 90620");
    expect(m.text).toContain("abcft@abcusd.us");
    expect(m.attachments.map((a) => a.filename)).toEqual([
      "flyer.pdf",
      "abc-west-coast-lmi-2017.ics",
    ]);
    expect(m.attachments[0]?.content.toString()).toContain("%PDF-1.4");
  });

  it("the press-release prompt drafts a release with the district's name and the facts", async () => {
    const m = await parsed(sendOf("press-release-prompt"));
    expect(m.text).toContain("Please consider issuing a press release");
    expect(m.text).toContain("A team from Fremont Unified School District");
    expect(m.text).toContain("June 20-21, 2017, at the San Diego Doubletree Hotel Mission Valley");
    expect(m.text).toContain("http://cdefoundation.org/lmi/2017-institute/");
    expect(m.text).toContain("#CollaborateInSD #CA_LMI");
    expect(m.text).toContain("Please keep in touch");
  });

  it("a calendar invite is the cover plus the calendar, and nothing else", async () => {
    const send = sendOf("calendar-invite");
    const stamp = DateTime.fromISO("2017-05-16T18:00:00Z");
    const m = await parsed(send, stamp);
    expect(m.text).toContain("When: Wednesday, June 21, 2017, 9:00 AM – 3:30 PM PDT");
    expect(m.text).toContain("10:40 AM – 11:45 AM · Breakout Session 3");
    expect(m.text).toContain("Families as Resources, Parents as Partners: Shutters East 1");
    expect(m.headers.has("list")).toBe(false);
    const ics = m.attachments.filter(
      (a) => a.contentType.includes("calendar") || a.filename?.endsWith(".ics"),
    );
    expect(ics.length).toBeGreaterThan(0);
    expect(ics[0]?.content.toString()).toContain("METHOD:REQUEST");
    expect(
      m.attachments.every(
        (a) => a.contentType.includes("calendar") || a.filename?.endsWith(".ics"),
      ),
    ).toBe(true);
  });

  it("the Date is the injected clock when given", async () => {
    const now = DateTime.fromISO("2017-05-20T12:34:56Z");
    const m = await parsed(sendOf("reminder-7d"), now);
    expect((m.date as Date).getTime()).toBe(now.toMillis());
  });
});
