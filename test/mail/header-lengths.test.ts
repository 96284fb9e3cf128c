/**
 * The header cap (MAX_LINE_LENGTH) is chosen so that a value at the cap still makes header
 * lines within RFC 5322's 998 octets once nodemailer has encoded it (RFC 2047) and folded it:
 * the worst case is checked here on the real composed message, ASCII without spaces (which
 * cannot be folded) and non-ASCII (which grows when encoded).
 */

import { join } from "node:path";
import { DateTime } from "luxon";
import { simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { composeWith } from "../../src/mail/compose.js";
import { toEml } from "../../src/mail/eml.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { MAX_LINE_LENGTH } from "../../src/model/schema.js";
import { plan } from "../../src/planner/plan.js";
import { ROOT } from "../support/cli.js";

const config = loadConfig({ UNSUBSCRIBE_SECRET: "0123456789abcdef0123456789abcdef" });

async function composedAtTheCap(fill: string) {
  const def = loadEventOrThrow(join(ROOT, "test", "fixtures", "mail", "seed-letter"), KINDS);
  const at = fill.repeat(MAX_LINE_LENGTH);
  const step = def.campaign.steps.find((s) => s.id === "reminder-7d");
  if (!step) throw new Error("no reminder step");
  step.subject = at;
  def.event.organizer.name = at;
  def.event.contact.name = at;
  const send = plan(def, def.registrations, DateTime.fromISO("2017-07-01T00:00:00Z")).find(
    (s) => s.step === "reminder-7d",
  );
  if (!send) throw new Error("no reminder send");
  const recipient = def.audiences[step.audience]?.find((r) => r.email === send.recipient);
  if (!recipient) throw new Error("no recipient");
  const msg = await composeWith(def, send, { config }, { ...recipient, name: at });
  return { raw: (await toEml(msg)).raw, at };
}

describe("header values at the cap", () => {
  it.each([
    ["ASCII without spaces", "x"],
    ["non-ASCII", "é"],
    ["astral", "𝄞"],
  ])("%s: every header line is within 998 octets and decodes back", async (_what, fill) => {
    const { raw, at } = await composedAtTheCap(fill);
    const head = raw.toString("utf8").split("\r\n\r\n")[0] as string;
    const longest = Math.max(...head.split("\r\n").map((l) => Buffer.byteLength(l)));
    expect(longest).toBeLessThanOrEqual(998);
    const m = await simpleParser(raw);
    expect(m.subject).toBe(at);
    expect(m.from?.value[0]?.name).toBe(at);
    expect(m.to && !Array.isArray(m.to) ? m.to.value[0]?.name : undefined).toBe(at);
  });
});
