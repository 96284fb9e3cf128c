/**
 * Messages assembled in a thread of their own (src/mail/assembly-threads.ts) are byte for byte
 * what the caller's thread assembles, and a send never depends on the thread: what it cannot
 * take, what throws in it, and everything after it died is assembled in the caller's thread,
 * with the same result or the same error. Then through the real SMTP path with a thread.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { DateTime } from "luxon";
import type Mail from "nodemailer/lib/mailer/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { assemble, PartCache } from "../../src/mail/assemble.js";
import { type Assembler, assembler, isPlainMessage } from "../../src/mail/assembly-threads.js";
import { composeMessage } from "../../src/mail/compose.js";
import { smtpMailer } from "../../src/mail/transport.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { ROOT } from "../support/cli.js";
import { startSmtp } from "../worker/fixture.js";

const config = loadConfig({ UNSUBSCRIBE_SECRET: "test-secret" });
const BOUNDARY = "convene-threads";

/** One composed message of each kind of the bundled event, with a fixed boundary. */
async function bundledMessages(): Promise<Mail.Options[]> {
  const def = loadEventOrThrow(join(ROOT, "events", "ca-lmi-2017"), KINDS);
  const sends = plan(def, def.registrations, DateTime.fromISO("2017-07-01T00:00:00Z"));
  const kinds = [...new Set(sends.map((s) => s.kind))];
  const out: Mail.Options[] = [];
  for (const kind of kinds) {
    const send = sends.find((s) => s.kind === kind);
    if (send)
      out.push({ ...(await composeMessage(def, send, { config })), baseBoundary: BOUNDARY });
  }
  return out;
}

const handMade: Mail.Options = {
  from: "Organizer <org@example.org>",
  to: "Zoë <zoe@example.org>",
  subject: "Grüße",
  text: "Hallo Zoë",
  html: "<p>Hallo Zoë</p>",
  date: new Date("2026-01-02T03:04:05Z"),
  messageId: "<threads-test@example.org>",
  // A Buffer reaches a thread as a plain Uint8Array, which nodemailer does not take for content.
  attachments: [{ filename: "notes.bin", content: Buffer.from([0, 1, 2, 250, 255]) }],
  baseBoundary: BOUNDARY,
} as Mail.Options;

function bytes(raw: Buffer | undefined): string | undefined {
  return raw?.toString("latin1");
}

function inCaller(msg: Mail.Options) {
  return assemble(msg, new PartCache());
}

describe("assembly in a thread", () => {
  let threads: Assembler;
  const broken: Error[] = [];

  beforeAll(() => {
    threads = assembler(1, (e) => broken.push(e));
  });
  afterAll(async () => {
    await threads.close();
  });

  it("gives the bytes, envelope and Message-ID the caller's thread gives, for every kind", async () => {
    const msgs = [...(await bundledMessages()), handMade];
    expect(msgs.length).toBeGreaterThan(3);
    const results = await Promise.all(msgs.map((m) => threads.assemble(m)));
    msgs.forEach((m, i) => {
      const here = inCaller(m);
      const there = results[i];
      expect(there, `message ${i}`).toBeDefined();
      expect(bytes(there?.raw)).toBe(bytes(here?.raw));
      expect(there?.envelope).toEqual(here?.envelope);
      expect(there?.messageId).toBe(here?.messageId);
    });
    expect(broken).toEqual([]);
  });

  it("takes every message convene composes: they are plain data", async () => {
    for (const m of await bundledMessages()) expect(isPlainMessage(m)).toBe(true);
  });

  it("assembles what a clone would change (class instances, getters, an own __proto__) in the caller's thread", async () => {
    const withProto = {
      ...handMade,
      ...JSON.parse('{"__proto__": {"bcc": "evil@attacker.example"}}'),
    };
    let reads = 0;
    const getter = Object.defineProperty({ ...handMade }, "subject", {
      enumerable: true,
      get: () => `read ${++reads}`,
    });
    const luxonDate = { ...handMade, date: DateTime.fromISO("2026-01-02T03:04:05Z") as never };
    for (const msg of [withProto, getter, luxonDate] as Mail.Options[]) {
      expect(isPlainMessage(msg)).toBe(false);
      const there = await threads.assemble(msg);
      const here = inCaller(msg);
      expect(there?.envelope).toEqual(here?.envelope);
      // Without the Date line, which is the same either way: the getter gave the subject.
      expect(bytes(there?.raw)?.replace(/^Subject: .*$/m, "")).toBe(
        bytes(here?.raw)?.replace(/^Subject: .*$/m, ""),
      );
    }
    expect(bytes((await threads.assemble(luxonDate as Mail.Options))?.raw)).not.toContain(
      "[object Object]",
    );
  });

  it("leaves to nodemailer what it leaves to nodemailer in the caller's thread (a file)", async () => {
    const msg = { ...handMade, attachments: [{ filename: "a.txt", path: "/nonexistent/a.txt" }] };
    expect(inCaller(msg)).toBeUndefined();
    expect(await threads.assemble(msg)).toBeUndefined();
  });

  it("assembles a message it cannot post (not cloneable) in the caller's thread", async () => {
    const msg = { ...handMade, ignoredByNodemailer: () => "a function" } as Mail.Options;
    expect(bytes((await threads.assemble(msg))?.raw)).toBe(bytes(inCaller(msg)?.raw));
  });

  it("an assembly that throws in the thread throws the caller's own error", async () => {
    const msg = { ...handMade, attachments: [{ content: "x", encoding: "nope" }] } as Mail.Options;
    expect(() => inCaller(msg)).toThrow("Unknown encoding: nope");
    await expect(threads.assemble(msg)).rejects.toThrow("Unknown encoding: nope");
    // The thread is still in use after it.
    expect(bytes((await threads.assemble(handMade))?.raw)).toBe(bytes(inCaller(handMade)?.raw));
    expect(broken).toEqual([]);
  });
});

describe("a thread that dies", () => {
  it("is told once; what it held and what follows are assembled in the caller's thread", async () => {
    const broken: Error[] = [];
    const threads = assembler(1, (e) => broken.push(e));
    const pool = (threads as unknown as { pool: { terminate(): Promise<number> }[] }).pool;
    const held = threads.assemble(handMade);
    await pool[0]?.terminate();
    const after = threads.assemble(handMade);
    const expected = bytes(inCaller(handMade)?.raw);
    expect(bytes((await held)?.raw)).toBe(expected);
    expect(bytes((await after)?.raw)).toBe(expected);
    expect(broken).toHaveLength(1);
    expect(broken[0]?.message).toMatch(/assembly thread exited/);
    await threads.close();
    expect(broken).toHaveLength(1);
  });
});

describe("a process that never closes its threads", () => {
  it("still exits once it has nothing else to do", () => {
    const mod = new URL("../../src/mail/assembly-threads.ts", import.meta.url).href;
    const code = `const { assembler } = await import(${JSON.stringify(mod)});
const a = assembler(1);
const r = await a.assemble({ from: "a@example.org", to: "b@example.org", subject: "s", text: "t" });
if (!r) process.exit(3);`;
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", code],
      {
        cwd: ROOT,
        timeout: 20_000,
        encoding: "utf8",
      },
    );
    expect(run.signal, run.stderr).toBeNull();
    expect(run.status, run.stderr).toBe(0);
  }, 30_000);
});

describe("the SMTP server receives the same message from a thread", () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;

  beforeAll(async () => {
    smtp = await startSmtp();
  });
  afterAll(async () => {
    await smtp.close();
  });

  it("every kind, parsed by mailparser, as from the caller's thread", async () => {
    const msgs = await bundledMessages();
    const threaded = smtpMailer(smtp.url, undefined, { threads: 1 });
    const plain = smtpMailer(smtp.url);
    for (const m of msgs) {
      await threaded.send(m);
      await plain.send(m);
    }
    await Promise.all([threaded.close(), plain.close()]);
    await smtp.waitFor(2 * msgs.length);
    for (const m of msgs) {
      const id = String(m.messageId).replace(/^<|>$/g, "");
      const copies = smtp.received.filter((r) => r.mail.messageId?.replace(/^<|>$/g, "") === id);
      const [a, b] = copies.map((r) => r.raw);
      if (!a || !b) throw new Error(`${id}: both copies should have arrived`);
      // The same boundary was asked for: the two arrive byte for byte the same.
      expect(a).toBe(b);
    }
  });
});
