/**
 * A message assembled in one pass (src/mail/assemble.ts) is byte for byte what nodemailer's own
 * streaming makes of the same message: every planned send of both bundled events, the same
 * message again from the part cache, and hand-made messages that take nodemailer's other
 * choices (7bit, base64 text, encoded words, a Buffer attachment). What the walk cannot write
 * (a file attachment) is left to nodemailer. Then through the real SMTP path: the server
 * receives the same message, parsed by mailparser, whichever path built it.
 */
import { join } from "node:path";
import { DateTime } from "luxon";
import MailComposer from "nodemailer/lib/mail-composer";
import type Mail from "nodemailer/lib/mailer/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { setPreparedParts } from "../../src/calendar/invite-template.js";
import { loadConfig } from "../../src/config.js";
import { assemble, PartCache } from "../../src/mail/assemble.js";
import { composeMessage } from "../../src/mail/compose.js";
import { smtpMailer } from "../../src/mail/transport.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { ROOT } from "../support/cli.js";
import { startSmtp } from "../worker/fixture.js";

const config = loadConfig({ UNSUBSCRIBE_SECRET: "test-secret" });
const BOUNDARY = "convene-assemble";

/** nodemailer's own bytes for the message: its tree, streamed, as SMTP would be handed them. */
async function nodemailerBytes(msg: Mail.Options): Promise<string> {
  const node = new MailComposer({ ...msg, baseBoundary: BOUNDARY } as Mail.Options).compile();
  // latin1 maps each byte to one character: a difference in any byte shows.
  return (await node.build()).toString("latin1");
}

function assembledBytes(msg: Mail.Options, cache: PartCache): string | undefined {
  return assemble({ ...msg, baseBoundary: BOUNDARY } as Mail.Options, cache)?.raw.toString(
    "latin1",
  );
}

const EVENTS = [
  { dir: "ca-lmi-2017", at: "2017-07-01T00:00:00Z" },
  { dir: "berlin-partnership-forum-2026", at: "2026-12-01T00:00:00Z" },
];

describe.each(EVENTS)("assembled messages equal nodemailer's: $dir", ({ dir, at }) => {
  const def = loadEventOrThrow(join(ROOT, "events", dir), KINDS);
  const sends = plan(def, def.registrations, DateTime.fromISO(at));

  it("every planned send, byte for byte, and again from the part cache", async () => {
    const cache = new PartCache();
    expect(sends.length).toBeGreaterThan(50);
    for (const send of sends) {
      const msg = await composeMessage(def, send, { config });
      const want = await nodemailerBytes(msg);
      expect(assembledBytes(msg, cache), send.id).toBe(want);
      expect(assembledBytes(msg, cache), `${send.id} from the cache`).toBe(want);
    }
    // The letter's PUBLISH file is the same for everyone: it was remembered.
    expect(cache.count).toBeGreaterThan(0);
  }, 120_000);
});

const base: Mail.Options = {
  from: { name: "Jürgen Ößwald", address: "org@example.org" },
  to: { name: "Zoë « Test »", address: "zoe@example.org" },
  subject: "Einladung: Übersicht und Zeitplan für die Konferenz — bitte lesen",
  messageId: "<assemble-test@example.org>",
  date: new Date("2026-12-01T10:00:00Z"),
  headers: { "X-Convene-Send-Id": "ev.step.0123456789abcdef" },
};

describe("hand-made messages take nodemailer's choices", () => {
  const cases: [string, Mail.Options][] = [
    ["plain ASCII text only (7bit, one part)", { ...base, text: "Hello\nthere\n" }],
    ["text without a last line break", { ...base, text: "no newline at the end" }],
    [
      "mostly non-Latin text (base64)",
      { ...base, text: "会议邀请。请在截止日期前注册。".repeat(40) },
    ],
    [
      "long lines (quoted-printable)",
      { ...base, text: `${"word ".repeat(300)}\n`, html: "<p>x</p>" },
    ],
    [
      "a Buffer attachment and a big text attachment",
      {
        ...base,
        text: "See attached.",
        html: "<p>See <b>attached</b>.</p>",
        attachments: [
          { filename: "data.bin", content: Buffer.from([0, 1, 2, 250, 251, 13, 10, 46]) },
          { filename: "notes.txt", content: "line\n".repeat(1000), contentType: "text/plain" },
        ],
      },
    ],
    ["an empty text", { ...base, text: "", html: "<p>only html</p>" }],
  ];

  it.each(cases)("%s", async (_name, msg) => {
    const cache = new PartCache();
    const want = await nodemailerBytes(msg);
    expect(assembledBytes(msg, cache)).toBe(want);
    expect(assembledBytes(msg, cache)).toBe(want);
  });

  it("tells cached parts apart by every header, not only their content", async () => {
    const cache = new PartCache();
    const file = { filename: "agenda.txt", content: "same text\n".repeat(400) };
    for (const cid of ["one@example.org", "two@example.org"]) {
      const msg = { ...base, html: "<p>x</p>", attachments: [{ ...file, cid }] };
      expect(assembledBytes(msg, cache)).toBe(await nodemailerBytes(msg));
    }
  });

  const plain = {
    from: "a@example.org",
    to: "b@example.org",
    subject: "s",
    messageId: "<m@x>",
    date: new Date(0),
  };

  it.each<[string, Mail.Options]>([
    [
      "quoted-printable text ending in a space",
      { ...plain, text: "Liebe Grüße,\nWir freuen uns auf Ihren Besuch in der schönen " },
    ],
    ["quoted-printable text ending in a tab", { ...plain, text: `${"ä".repeat(60)} word\t` }],
    [
      "a multipart/* attachment with content",
      {
        ...plain,
        text: "x",
        attachments: [{ filename: "a.bin", contentType: "multipart/mixed", content: "hello" }],
      },
    ],
    [
      "a second Content-Type on an alternative",
      {
        ...plain,
        text: "x",
        alternatives: [
          {
            contentType: "text/x-foo",
            content: "hey",
            headers: { "Content-Type": "multipart/mixed" },
          },
        ],
      },
    ],
  ])("found by review: %s", async (_name, msg) => {
    expect(assembledBytes(msg, new PartCache())).toBe(await nodemailerBytes(msg));
  });

  it("found by review: a shared cache tells apart parts that differ only in how headers are encoded", async () => {
    const cache = new PartCache();
    const file = {
      filename: "Übersicht.txt",
      contentType: "text/plain",
      content: "Übersicht ".repeat(300),
    };
    for (const textEncoding of ["base64", "quoted-printable", undefined] as const) {
      const msg = {
        ...plain,
        text: "x",
        attachments: [file],
        ...(textEncoding ? { textEncoding } : {}),
      };
      expect(assembledBytes(msg, cache), textEncoding).toBe(await nodemailerBytes(msg));
    }
    const upper = {
      ...plain,
      text: "x",
      attachments: [file],
      normalizeHeaderKey: (k: string) => k.toUpperCase(),
    };
    expect(assembledBytes(upper, cache)).toBe(await nodemailerBytes(upper));
  });

  const body = Buffer.from("line one\r\nline two\nline three\r".repeat(120));
  const part = {
    filename: false as const,
    contentType: "application/octet-stream",
    contentDisposition: "attachment" as const,
    content: body,
  };

  it.each<[string, Mail.Options, Mail.Options]>([
    [
      "a header key function that makes two parts write the same headers",
      {
        ...plain,
        text: "x",
        normalizeHeaderKey: () => "X",
        attachments: [
          { ...part, headers: { "X-1": "base64" }, contentTransferEncoding: "quoted-printable" },
        ],
      },
      {
        ...plain,
        text: "x",
        normalizeHeaderKey: () => "X",
        attachments: [
          {
            ...part,
            contentTransferEncoding: false,
            headers: [
              { key: "Content-Transfer-Encoding", value: "base64" },
              { key: "X-1", value: "quoted-printable" },
            ],
          },
        ],
      },
    ],
    [
      "a prepared Content-Type that changes the encoding but not the headers",
      {
        ...plain,
        text: "x",
        attachments: [
          {
            ...part,
            contentTransferEncoding: "quoted-printable",
            headers: { "Content-Type": { prepared: true, value: "text/plain" } },
          },
        ],
      },
      {
        ...plain,
        text: "x",
        attachments: [
          {
            ...part,
            contentTransferEncoding: "quoted-printable",
            headers: { "Content-Type": "text/plain" },
          },
        ],
      },
    ],
  ])("found by review: a shared cache and %s", async (_name, a, b) => {
    const cache = new PartCache();
    for (const msg of [a, b]) expect(assembledBytes(msg, cache)).toBe(await nodemailerBytes(msg));
  });

  it("found by review: a caller reusing its Buffer does not change what the cache gives later", async () => {
    const cache = new PartCache();
    const mk = (c: Buffer) => ({
      ...plain,
      text: "x",
      attachments: [{ filename: "a.bin", content: c, contentTransferEncoding: "8bit" }],
    });
    const buf = Buffer.alloc(4096, 0x41);
    assembledBytes(mk(buf), cache);
    buf.fill(0x42);
    const again = mk(Buffer.alloc(4096, 0x41));
    expect(assembledBytes(again, cache)).toBe(await nodemailerBytes(again));
  });

  it("found by review: a NUL in a file name cannot make two parts share a cache entry", async () => {
    const cache = new PartCache();
    const type = "application/octet-stream";
    const one = {
      ...plain,
      text: "x",
      attachments: [
        { filename: "f\0string\0AAAAAAAAAA", contentType: type, content: "A".repeat(3000) },
      ],
    };
    const two = {
      ...plain,
      text: "x",
      attachments: [
        { filename: "f", contentType: type, content: `AAAAAAAAAA\0string\0${"A".repeat(3000)}` },
      ],
    };
    for (const msg of [one, two])
      expect(assembledBytes(msg, cache)).toBe(await nodemailerBytes(msg));
  });

  it.each<[string, Mail.Options]>([
    ["newline conversion", { ...plain, text: "a\r\nb\n", newline: "unix" } as Mail.Options],
    ["List-* headers", { ...plain, text: "x", list: { unsubscribe: "https://example.org/u" } }],
    ["priority", { ...plain, text: "x", priority: "high" }],
  ])("leaves %s to nodemailer's sender", (_name, msg) => {
    expect(assemble(msg, new PartCache())).toBeUndefined();
  });

  it("leaves a file attachment to nodemailer", () => {
    const msg = { ...base, text: "x", attachments: [{ filename: "a.txt", path: __filename }] };
    expect(assemble(msg, new PartCache())).toBeUndefined();
  });

  it("keeps the envelope and the Message-ID", () => {
    const msg = {
      ...base,
      text: "x",
      envelope: { from: "bounce+tag@example.org", to: "zoe@example.org" },
    };
    const a = assemble(msg, new PartCache());
    expect(a?.messageId).toBe("<assemble-test@example.org>");
    expect(a?.envelope).toEqual({ from: "bounce+tag@example.org", to: ["zoe@example.org"] });
  });
});

describe("the SMTP server receives the same message from either path", () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;

  beforeAll(async () => {
    smtp = await startSmtp();
  });
  afterAll(async () => {
    setPreparedParts(true);
    await smtp.close();
  });

  it("letter and invite, parsed by mailparser", async () => {
    const def = loadEventOrThrow(join(ROOT, "events", "ca-lmi-2017"), KINDS);
    const sends = plan(def, def.registrations, DateTime.fromISO("2017-07-01T00:00:00Z"));
    const picks = ["invitation-letter", "calendar-invite"].map((k) =>
      sends.find((s) => s.kind === k),
    );
    const mailer = smtpMailer(smtp.url);
    for (const send of picks) {
      if (!send) throw new Error("the bundled event lost a kind");
      const msg = await composeMessage(def, send, { config });
      for (const on of [true, false]) {
        setPreparedParts(on);
        await mailer.send(msg);
      }
    }
    await mailer.close();
    await smtp.waitFor(4);
    for (const send of picks) {
      // The fast and the slow copy of one send: parsed, they must say the same.
      const [fast, slow] = smtp.received.filter((r) => r.sendId === send?.id).map((r) => r.mail);
      if (!fast || !slow) throw new Error(`${send?.id}: both copies should have arrived`);
      expect(fast.messageId).toBe(slow.messageId);
      expect(fast.subject).toBe(slow.subject);
      expect(fast.to).toEqual(slow.to);
      expect(fast.text).toBe(slow.text);
      expect(fast.html).toBe(slow.html);
      expect(
        fast.attachments.map((a) => [a.contentType, a.filename, a.content.toString("base64")]),
      ).toEqual(
        slow.attachments.map((a) => [a.contentType, a.filename, a.content.toString("base64")]),
      );
    }
    expect(smtp.received).toHaveLength(4);
  });
});
