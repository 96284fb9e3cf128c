/**
 * `convene send-test` as an organizer runs it, against a real SMTP server on loopback: the test
 * message is the real recipient's content, but nothing in it may point back at the real
 * recipient (an unsubscribe click or a calendar reply from the tester would act on them).
 */
import { execFile } from "node:child_process";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { convert } from "html-to-text";
import ICAL from "ical.js";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { verifyUnsubscribeToken } from "../../src/mail/unsubscribe.js";
import { ROOT } from "../support/cli.js";

const run = promisify(execFile);
const EVENT = join(ROOT, "test", "fixtures", "mail", "seed-letter");
const TESTER = "tester@qa.example.test";
const SECRET = "send-test-secret-0123456789abcdef0123";

interface Received {
  rcptTo: string[];
  raw: string;
  mail: ParsedMail;
}

const received: Received[] = [];
let server: SMTPServer;
let smtpUrl = "";

beforeAll(async () => {
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        simpleParser(raw).then(
          (mail) => {
            received.push({ rcptTo: session.envelope.rcptTo.map((r) => r.address), raw, mail });
            cb();
          },
          (e: Error) => cb(e),
        );
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  smtpUrl = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  received.length = 0;
});

/** The CLI in a child process; asynchronous, so this process's SMTP server keeps answering. */
async function sendTest(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src", "cli.ts"), "send-test", EVENT, ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
    );
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

/** Everything a mail client could show or act on, decoded: header lines, bodies, every part. */
function decodedTexts(m: ParsedMail): Record<string, string> {
  return {
    ...Object.fromEntries(m.headerLines.map((h) => [`header ${h.key}`, h.line])),
    html: String(m.html || ""),
    text: m.text ?? "",
    ...Object.fromEntries(
      m.attachments.map((a, i) => [`part ${i} (${a.contentType})`, a.content.toString("utf8")]),
    ),
  };
}

function expectNoTraceOf(r: Received, address: string): void {
  // Unsubscribe tokens carry the address base64url-encoded, so look for that form too.
  const forms = [address, Buffer.from(address, "utf8").toString("base64url")].map((f) =>
    f.toLowerCase(),
  );
  const texts = { raw: r.raw, ...decodedTexts(r.mail) };
  const found = Object.entries(texts).flatMap(([where, text]) =>
    forms.filter((f) => text.toLowerCase().includes(f)).map((f) => `${f} in ${where}`),
  );
  expect(found).toEqual([]);
  expect(r.rcptTo).toEqual([TESTER]);
}

describe("convene send-test (real SMTP server on loopback)", () => {
  it("a bulk step: List-Unsubscribe and the footer link are the tester's, not the recipient's", async () => {
    const real = "thomas.goldberg@alameda-coe.k12.test";
    const r = await sendTest(["--step", "reminder-7d", "--recipient", real, "--to", TESTER], {
      SMTP_URL: smtpUrl,
      UNSUBSCRIBE_SECRET: SECRET,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(received).toHaveLength(1);
    const got = received[0] as Received;
    expectNoTraceOf(got, real);

    const list = got.mail.headers.get("list") as { unsubscribe?: { url?: string } };
    const token = new URL(list.unsubscribe?.url ?? "https://invalid/").searchParams.get("token");
    expect(verifyUnsubscribeToken(token ?? "", SECRET)).toBe(TESTER);
    // html-to-text parses the HTML independently (entities decoded) and prints links in brackets.
    const footer = /\[(https:[^\]]*unsubscribe\?token=[^\]]*)\]/.exec(
      convert(String(got.mail.html)),
    )?.[1];
    expect(footer).toBeDefined();
    const footerToken = new URL(footer ?? "https://invalid/").searchParams.get("token");
    expect(verifyUnsubscribeToken(footerToken ?? "", SECRET)).toBe(TESTER);
    // Still the real recipient's letter: their greeting, marked as a test.
    expect(got.mail.subject).toMatch(/^\[TEST\] /);
    expect(got.mail.text).toContain("Superintendent Goldberg");
  });

  it("a calendar invite: the ATTENDEE is the tester", async () => {
    const real = "javier.ellison@fremont-usd.k12.test";
    const r = await sendTest(["--step", "calendar-invite", "--recipient", real, "--to", TESTER], {
      SMTP_URL: smtpUrl,
      UNSUBSCRIBE_SECRET: SECRET,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(received).toHaveLength(1);
    const got = received[0] as Received;
    expectNoTraceOf(got, real);

    const ics = got.mail.attachments.find((a) => a.contentType === "text/calendar");
    expect(ics).toBeDefined();
    const vevent = new ICAL.Component(
      ICAL.parse(ics?.content.toString("utf8") ?? ""),
    ).getFirstSubcomponent("vevent");
    const attendees =
      vevent?.getAllProperties("attendee").map((p) => String(p.getFirstValue())) ?? [];
    expect(attendees.map((a) => a.toLowerCase())).toEqual([`mailto:${TESTER}`]);
    const cn = vevent?.getFirstProperty("attendee")?.getParameter("cn");
    expect(cn).toBe("Javier Ellison");
  });
});
