import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { classify, cleanValue, dsnBlocks } from "../../src/inbound/classify.js";
import { verpAddress, verpSendId, verpTag } from "../../src/mail/headers.js";
import { parse, sample } from "./samples.js";

const SEND = "mini.letter.0123456789abcdef";
const BOUNCES = "bounces@mini.test";
const SECRET = "classify-test-secret-0123456789abcdef";
const VERP = verpAddress(BOUNCES, SEND, SECRET);
const dsnVars = {
  VERP,
  RCPT: "ann@people.test",
  MESSAGE_ID: `${SEND}@mini.test`,
  SEND_ID: SEND,
  TAG: verpTag(SEND, SECRET),
  ORGANIZER: "org@mini.test",
};
const replyVars = {
  CN_PLAIN: "Eve Five",
  CN: "Eve Five",
  ATTENDEE: "eve@people.test",
  ORGANIZER: "org@mini.test",
  UID: "day-2099-06-20.mini@mini.test",
  SEQUENCE: 1,
  PARTSTAT: "ACCEPTED",
  DTSTAMP: "20990619T173000Z",
  DTSTART: "20990620T160000Z",
  METHOD: "REPLY",
  SUBJECT_WORD: "Accepted",
  MSGID: "m1",
  MESSAGE_ID: `${SEND}@mini.test`,
  TOKEN: "x",
};
const opts = { bounceAddress: BOUNCES };

describe("VERP addresses", () => {
  it("carry the send id in the local part and read back exactly, whatever the case", () => {
    expect(VERP).toMatch(
      new RegExp(`^bounces\\+${SEND.replace(/\./g, "\\.")}\\.[0-9a-f]{12}@mini\\.test$`),
    );
    expect(verpSendId(VERP.toUpperCase(), BOUNCES, SECRET)).toBe(SEND);
    const tag = VERP.slice(VERP.lastIndexOf(".", VERP.indexOf("@")) + 1, VERP.indexOf("@"));
    expect(verpSendId(`other+${SEND}.${tag}@mini.test`, BOUNCES, SECRET)).toBeUndefined();
    expect(verpSendId(`bounces+${SEND}.${tag}@evil.test`, BOUNCES, SECRET)).toBeUndefined();
  });

  it("name no send without convene's tag: send ids can be computed by anyone", () => {
    // The pre-tag form, another send's id with this send's tag, and a tag under another secret.
    expect(verpSendId(`bounces+${SEND}@mini.test`, BOUNCES, SECRET)).toBeUndefined();
    const other = "mini.letter.fedcba9876543210";
    const tag = VERP.slice(VERP.lastIndexOf(".", VERP.indexOf("@")) + 1, VERP.indexOf("@"));
    expect(verpSendId(`bounces+${other}.${tag}@mini.test`, BOUNCES, SECRET)).toBeUndefined();
    const forged = verpAddress(BOUNCES, other, "guessed-secret-0123456789abcdefgh");
    expect(verpSendId(forged, BOUNCES, SECRET)).toBeUndefined();
    expect(verpSendId(verpAddress(BOUNCES, other, SECRET), BOUNCES, SECRET)).toBe(other);
  });
});

describe("classify", () => {
  it("reads a Postfix DSN: VERP address, failed 5.1.1, the original's ids", async () => {
    const c = classify(await parse(sample("dsn-postfix.eml", dsnVars)), opts);
    expect(c.type).toBe("bounce");
    if (c.type !== "bounce") return;
    expect(c.recipients).toEqual([
      expect.objectContaining({
        recipient: "ann@people.test",
        action: "failed",
        status: "5.1.1",
        hard: true,
      }),
    ]);
    expect(c.recipients[0]?.diagnostic).toMatch(/550 5\.1\.1 .*User unknown/);
    expect(c.verpTo.map((a) => verpSendId(a, BOUNCES, SECRET))).toContain(SEND);
    expect(c.sendIds).toContain(SEND);
  });

  it("reads the classic Exim text bounce without a delivery-status part", async () => {
    const c = classify(await parse(sample("dsn-exim.eml", dsnVars)), opts);
    expect(c).toMatchObject({ type: "bounce", textual: true, sendIds: [SEND] });
    if (c.type === "bounce")
      expect(c.recipients[0]).toMatchObject({
        recipient: "ann@people.test",
        status: "5.1.1",
        hard: true,
      });
  });

  it("tells a Gmail delay (4.4.7) from a hard bounce, and reads Microsoft 365's 5.1.10", async () => {
    const g = classify(await parse(sample("dsn-gmail-delayed.eml", dsnVars)), opts);
    expect(g.type === "bounce" && g.recipients[0]).toMatchObject({
      action: "delayed",
      status: "4.4.7",
      hard: false,
    });
    const m = classify(await parse(sample("dsn-m365.eml", dsnVars)), opts);
    expect(m.type === "bounce" && m.recipients[0]).toMatchObject({
      action: "failed",
      status: "5.1.10",
      hard: true,
    });
  });

  it("reads iMIP REPLYs as Outlook, Google and Apple write them, once per attendee and UID", async () => {
    for (const [file, partstat] of [
      ["reply-outlook.eml", "ACCEPTED"],
      ["reply-google.eml", "DECLINED"],
      ["reply-apple.eml", "TENTATIVE"],
    ] as const) {
      const c = classify(await parse(sample(file, { ...replyVars, PARTSTAT: partstat })), opts);
      expect(c, file).toEqual({
        type: "rsvp",
        replies: [
          {
            uid: replyVars.UID,
            attendee: "eve@people.test",
            name: "Eve Five",
            partstat,
            sequence: 1,
            stamp: "2099-06-19T17:30:00.000Z",
          },
        ],
        // Google sends as calendar-notification@google.com (Sender) with From the attendee.
        from: "eve@people.test",
      });
    }
  });

  it("marks a COUNTER as a counter-proposal with the proposed start", async () => {
    const c = classify(
      await parse(
        sample("reply-outlook.eml", {
          ...replyVars,
          METHOD: "COUNTER",
          PARTSTAT: "TENTATIVE",
          DTSTART: "20990620T170000Z",
        }),
      ),
    );
    expect(c.type === "rsvp" && c.replies[0]?.counter).toEqual({
      start: "2099-06-20T17:00:00.000Z",
    });
  });

  it("never takes an out-of-office, a human reply or an unsubscribe for a bounce or an RSVP", async () => {
    expect(classify(await parse(sample("out-of-office.eml", replyVars)), opts).type).toBe(
      "auto-reply",
    );
    expect(classify(await parse(sample("human-reply.eml", replyVars)), opts).type).toBe("unknown");
    const token = "YW5uQHBlb3BsZS50ZXN0.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";
    expect(
      classify(await parse(sample("unsubscribe-mailto.eml", { ...replyVars, TOKEN: token })), opts),
    ).toEqual({
      type: "unsubscribe",
      token,
    });
  });

  it("strips CR, LF and control characters from a CN, and reports a malformed calendar", async () => {
    const raw = sample("reply-apple.eml", { ...replyVars, CN: "Hal^nX-EVIL: 1" });
    const c = classify(await parse(raw));
    expect(c.type).toBe("rsvp");
    if (c.type === "rsvp") expect(c.replies[0]?.name).not.toMatch(/[\r\n]/);
    expect(cleanValue("a\r\nb\u0000c\u2028d")).toBe("a b c d");
    const broken = raw
      .replace("END:VEVENT", "DTSTART:notadate\r\nEND:VEVENT")
      .replace("END:VCALENDAR", "");
    const b = classify(await parse(broken));
    expect(b).toMatchObject({ type: "unknown", malformed: true });
  });

  it("strips terminal escapes, C1 controls and bidi overrides from a CN", async () => {
    // ESC [ 2 J, its 8-bit form CSI 2 J (U+009B), and a right-to-left override.
    const cn = "Hal \u001b[2J\u009b2J \u202eenO\u202c";
    const c = classify(await parse(sample("reply-apple.eml", { ...replyVars, CN: cn })));
    expect(c.type).toBe("rsvp");
    const name = c.type === "rsvp" ? (c.replies[0]?.name ?? "") : "";
    expect(name).toMatch(/^Hal /);
    const bad = [...name].filter((ch) => {
      const n = ch.codePointAt(0) ?? 0;
      return n < 0x20 || (n >= 0x7f && n <= 0x9f) || (n >= 0x202a && n <= 0x202e);
    });
    expect(bad).toEqual([]);
  });

  it("reads a calendar part in the charset it declares", async () => {
    const raw = sample("reply-apple.eml", { ...replyVars, CN: "Zoë Müller" });
    const [head = "", body = ""] = raw.split("BEGIN:VCALENDAR");
    const latin1 = Buffer.concat([
      Buffer.from(
        head.replace("text/calendar; charset=utf-8", "text/calendar; charset=windows-1252"),
      ),
      Buffer.from(`BEGIN:VCALENDAR${body}`, "latin1"),
    ]);
    const c = classify(await parse(latin1));
    expect(c.type === "rsvp" && c.replies[0]?.name).toBe("Zoë Müller");
  });

  it("reads a text bounce padded with thousands of blank lines without stalling", () => {
    // 8 KB of newlines after Exim's phrase took the old pattern minutes (cubic backtracking),
    // blocking the event loop. It runs in a child process, so a stall ends in its kill, not in
    // a test run that never returns; the bound is a hang guard, far above what it needs.
    const dir = mkdtempSync(join(tmpdir(), "convene-redos-"));
    const script = join(dir, "run.mts");
    // Absolute imports: the script lives outside the project, so it resolves no packages itself.
    const classifyTs = new URL("../../src/inbound/classify.ts", import.meta.url).pathname;
    const samplesTs = new URL("./samples.ts", import.meta.url).pathname;
    writeFileSync(
      script,
      `import { classify } from ${JSON.stringify(classifyTs)};
import { parse } from ${JSON.stringify(samplesTs)};
const raw = "From: MAILER-DAEMON@mx.people.test\\r\\nTo: org@mini.test\\r\\nSubject: Mail delivery failed\\r\\n\\r\\nThe following address failed:\\r\\n" + "\\r\\n".repeat(8000) + "no address here\\r\\n";
const c = classify(await parse(raw));
process.stdout.write(c.type);
`,
    );
    try {
      const r = spawnSync(process.execPath, ["--import", "tsx", script], {
        cwd: new URL("../..", import.meta.url).pathname,
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(r.signal, "killed: the classifier stalled").toBeNull();
      expect(r.stderr).toBe("");
      // No address after the padding: not a bounce it can read, left for a person.
      expect(r.stdout).toBe("unknown");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it("never opens an archive attachment (a zip bomb is just bytes)", async () => {
    const bomb = deflateRawSync(Buffer.alloc(20 * 1024 * 1024));
    const raw = [
      "From: x@people.test",
      "To: org@mini.test",
      "Subject: see attachment",
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="b"',
      "",
      "--b",
      "Content-Type: text/plain",
      "",
      "hi",
      "--b",
      'Content-Type: application/zip; name="bomb.zip"',
      "Content-Transfer-Encoding: base64",
      "",
      bomb.toString("base64").replace(/.{76}/g, "$&\r\n"),
      "--b--",
      "",
    ].join("\r\n");
    expect(classify(await parse(raw)).type).toBe("unknown");
  });

  it("reads RFC 3464 blocks with folded fields", () => {
    const blocks = dsnBlocks(
      "Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b\nDiagnostic-Code: smtp; 550\n  no such user\n",
    );
    expect(blocks[1]?.get("diagnostic-code")).toBe("smtp; 550 no such user");
  });
});
