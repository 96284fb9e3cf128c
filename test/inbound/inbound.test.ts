/**
 * `convene inbound` end to end: a real campaign through a real SMTP server (VERP envelope),
 * then real-world-shaped bounces, RSVPs, auto-replies, unsubscribes and hostile messages
 * delivered into a real Dovecot by IMAP APPEND, read by the real inbound loop.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import type { ImapFlow } from "imapflow";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadInboundEvents, startInbound } from "../../src/cli/inbound.js";
import type { Config } from "../../src/config.js";
import { mailboxId } from "../../src/inbound/mailbox.js";
import { verpAddress, verpTag } from "../../src/mail/headers.js";
import { unsubscribeToken } from "../../src/mail/unsubscribe.js";
import { createStores } from "../../src/store/index.js";
import { createLogger } from "../../src/worker/logger.js";
import type { RsvpItem } from "../../src/worker/rsvp-status.js";
import { runCli } from "../support/cli.js";
import {
  convene,
  deletePrefix,
  dueSoon,
  inProcessWorker,
  letterStep,
  REDIS_URL,
  ROOT,
  testConfig,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "../worker/fixture.js";
import { type Dovecot, startDovecot } from "./dovecot.js";
import { sample } from "./samples.js";

const hooks = testHooks();
const BOUNCES = "bounces@mini.test";
const SECRET = process.env.UNSUBSCRIBE_SECRET as string;
const ORGANIZER = "org@mini.test";
const ITEM = "day-2099-06-20";
const UID = `${ITEM}.mini@mini.test`;

interface Envelope {
  mailFrom: string;
  rcpt: string;
  sendId: string;
  subject: string;
}

/** A loopback SMTP server that keeps each message's envelope (the fixture's keeps only data). */
async function envelopeSmtp() {
  const got: Envelope[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, cb) {
      simpleParser(stream).then((mail) => {
        got.push({
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          rcpt: session.envelope.rcptTo[0]?.address ?? "",
          sendId: String(mail.headers.get("x-convene-send-id") ?? ""),
          subject: mail.subject ?? "",
        });
        cb();
      }, cb);
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    got,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const PEOPLE = ["ann", "bob", "cat", "dan", "eve", "fay", "gus", "hal"].map((n, i) => ({
  email: `${n}@people.test`,
  name: `${n[0]?.toUpperCase()}${n.slice(1)} ${["One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight"][i]}`,
  team: i < 4 ? "t1" : "t2",
}));

let dovecot: Dovecot;
beforeAll(async () => {
  dovecot = await startDovecot();
}, 30_000);
afterAll(async () => {
  await dovecot?.stop();
});

/** Subjects and flags of a folder's messages. */
async function folder(c: ImapFlow, path: string): Promise<{ subject: string; flags: string[] }[]> {
  const lock = await c.getMailboxLock(path);
  try {
    const all = await c.fetchAll("1:*", { envelope: true, flags: true }).catch(() => []);
    return all.map((m) => ({ subject: m.envelope?.subject ?? "", flags: [...(m.flags ?? [])] }));
  } finally {
    lock.release();
  }
}

const silent = createLogger({ level: "silent", pretty: false });

async function inboundOnce(config: Config, dir: string) {
  const redis = hooks.redis;
  const events = loadInboundEvents([dir], KINDS);
  const run = startInbound({ config, events, redis, log: silent, opts: { once: true } });
  return run.done;
}

describe("convene inbound against Dovecot", () => {
  it("records bounces, RSVPs and unsubscribes, leaves what it does not understand, and is idempotent", async () => {
    const prefix = uniquePrefix();
    const smtp = await envelopeSmtp();
    const soon = dueSoon(3);
    const invite = {
      id: "invite",
      kind: "calendar-invite",
      audience: "people",
      trigger: { anchor: "registration", offset: "1m" },
      items: [ITEM],
      missedWindow: "1h",
    };
    const fx = writeEvent({
      people: PEOPLE,
      registrations: [soon.registration, { team: "t2", at: soon.registration.at }],
      steps: [letterStep("letter"), invite],
    });
    hooks.cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix),
    );
    const url = `${dovecot.url.replace(/\/INBOX$/, "")}/INBOX`;
    const config: Config = {
      ...testConfig(prefix, smtp.url),
      bounceAddress: BOUNCES,
      imapUrl: url,
      unsubscribeSecret: SECRET,
    };
    const stores = createStores(hooks.redis, prefix);
    const w = inProcessWorker({ paths: [fx.dir], config });
    hooks.cleanups.push(() => w.close());
    await until("letters and invites sent", () => smtp.got.length >= 16);
    await until("all recorded sent", async () => {
      const all = [...(await stores.ledger.all("mini")).values()];
      return all.filter((r) => r.state === "sent").length === 16;
    });
    // The organizer moves the day: everyone gets SEQUENCE 1, so a REPLY to 0 is stale.
    const file = join(fx.dir, "event.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace('start: "09:00"', 'start: "10:00"'));
    await w.scheduler?.tick();
    await until("updates sent", () => smtp.got.length >= 24);
    await until(
      "updates recorded",
      async () => (await stores.calendar.sequence("mini", ITEM)) === 1,
    );

    // VERP: the envelope sender names the send; From stays the organizer's.
    for (const e of smtp.got) expect(e.mailFrom).toBe(verpAddress(BOUNCES, e.sendId, SECRET));
    const letterOf = (n: string) => {
      const e = smtp.got.find(
        (g) => g.rcpt === `${n}@people.test` && g.subject.startsWith("Mini letter"),
      );
      if (!e) throw new Error(`no letter to ${n}`);
      return e.sendId;
    };
    const dsn = (file: string, n: string) => {
      const id = letterOf(n);
      return sample(file, {
        VERP: verpAddress(BOUNCES, id, SECRET),
        RCPT: `${n}@people.test`,
        MESSAGE_ID: `${id}@mini.test`,
        SEND_ID: id,
        TAG: verpTag(id, SECRET),
        ORGANIZER,
      });
    };
    const reply = (file: string, n: string, v: Record<string, string | number>) =>
      sample(file, {
        CN_PLAIN: PEOPLE.find((p) => p.email.startsWith(n))?.name ?? n,
        CN: PEOPLE.find((p) => p.email.startsWith(n))?.name ?? n,
        ATTENDEE: `${n}@people.test`,
        ORGANIZER,
        UID,
        SEQUENCE: 1,
        DTSTAMP: "20990619T173000Z",
        DTSTART: "20990620T170000Z",
        METHOD: "REPLY",
        SUBJECT_WORD: "Accepted",
        MSGID: `${n}-${Math.random().toString(36).slice(2)}`,
        MESSAGE_ID: `${letterOf("ann")}@mini.test`,
        TOKEN: "x",
        ...v,
      });
    const forged = unsubscribeToken("fay@people.test", "not-the-secret-not-the-secret-00");
    const unmatchedDsn = sample("dsn-postfix.eml", {
      VERP: "bounces+mini.letter.ffffffffffffffff@mini.test",
      RCPT: "nobody@people.test",
      MESSAGE_ID: "mini.letter.ffffffffffffffff@mini.test",
      SEND_ID: "mini.letter.ffffffffffffffff",
      TAG: "000000000000",
      ORGANIZER,
    });
    const big =
      `From: x@people.test\r\nTo: ${ORGANIZER}\r\nSubject: huge\r\n\r\n${"x".repeat(998)}\r\n`.repeat(
        1,
      );
    const huge = big + `${"y".repeat(998)}\r\n`.repeat(21_000);
    const bomb = [
      "From: x@people.test",
      `To: ${ORGANIZER}`,
      "Subject: zip bomb",
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="b"',
      "",
      "--b",
      "Content-Type: text/plain",
      "",
      "see attached",
      "--b",
      'Content-Type: application/zip; name="bomb.zip"',
      "Content-Transfer-Encoding: base64",
      "",
      deflateRawSync(Buffer.alloc(50 * 1024 * 1024))
        .toString("base64")
        .replace(/.{76}/g, "$&\r\n"),
      "--b--",
      "",
    ].join("\r\n");
    const malformed = reply("reply-apple.eml", "dan", { PARTSTAT: "ACCEPTED" })
      .replace("END:VEVENT", "DTSTART:notadate\r\nEND:VEVENT")
      .replace("END:VCALENDAR", "");
    const messages: [string, string][] = [
      ["postfix hard bounce (VERP)", dsn("dsn-postfix.eml", "ann")],
      ["exim text bounce (headers)", dsn("dsn-exim.eml", "bob")],
      ["gmail delay", dsn("dsn-gmail-delayed.eml", "cat")],
      ["m365 hard bounce", dsn("dsn-m365.eml", "dan")],
      ["outlook accept", reply("reply-outlook.eml", "eve", { PARTSTAT: "ACCEPTED" })],
      ["google decline", reply("reply-google.eml", "fay", { PARTSTAT: "DECLINED" })],
      ["apple tentative", reply("reply-apple.eml", "gus", { PARTSTAT: "TENTATIVE" })],
      [
        "outlook counter",
        reply("reply-outlook.eml", "cat", {
          METHOD: "COUNTER",
          PARTSTAT: "TENTATIVE",
          SUBJECT_WORD: "New Time Proposed",
        }),
      ],
      [
        "stale decline",
        reply("reply-google.eml", "eve", {
          PARTSTAT: "DECLINED",
          SEQUENCE: 0,
          DTSTAMP: "20990619T180000Z",
        }),
      ],
      [
        "forwarded",
        reply("reply-outlook.eml", "zed", { PARTSTAT: "ACCEPTED" }).replace(
          /zed@people\.test/g,
          "zed@elsewhere.test",
        ),
      ],
      [
        "crlf cn",
        reply("reply-apple.eml", "hal", {
          PARTSTAT: "ACCEPTED",
          CN: "Hal^nATTENDEE;PARTSTAT=DECLINED:mailto:eve@people.test",
        }),
      ],
      ["out of office", reply("out-of-office.eml", "eve", {})],
      ["human reply", reply("human-reply.eml", "bob", {})],
      [
        "unsubscribe",
        reply("unsubscribe-mailto.eml", "gus", {
          TOKEN: unsubscribeToken("gus@people.test", SECRET),
        }),
      ],
      ["forged unsubscribe", reply("unsubscribe-mailto.eml", "fay", { TOKEN: forged })],
      ["unmatched dsn", unmatchedDsn],
      ["20 MB", huge],
      ["zip bomb", bomb],
      ["malformed ics", malformed],
    ];
    const c = await dovecot.imap();
    hooks.cleanups.push(() => c.logout());
    // The same command on the empty INBOX: the baseline the run below is compared with.
    const baseline = await cliOnce(fx.dir, prefix, url);
    expect(baseline.stdout).toMatch(/inbound: no new messages/);
    for (const [, raw] of messages) await c.append("INBOX", raw);

    // One real child-process run, as an operator starts it, with its peak memory measured.
    const { stdout, rss } = await cliOnce(fx.dir, prefix, url);
    expect(stdout).toMatch(/inbound: /);
    console.log(
      `convene inbound --once: peak RSS ${baseline.rss} MB on an empty INBOX, ${rss} MB over ${messages.length} messages (20 MB one, zip bomb, …)`,
    );
    // Bounded: the 20 MB message is never downloaded and no attachment is unpacked, so the run
    // costs little more than starting the command (a 20 MB download parsed costs far more).
    expect(rss - baseline.rss).toBeLessThan(40);

    // Bounces: ledger, diagnostic, suppressions.
    const ledger = await stores.ledger.all("mini");
    for (const [n, code] of [
      ["ann", "5.1.1"],
      ["bob", "5.1.1"],
      ["dan", "5.1.10"],
    ] as const) {
      const rec = ledger.get(letterOf(n));
      expect(rec?.state, n).toBe("bounced");
      expect(rec?.dsn).toContain(code);
      expect((await stores.suppressions.get(`${n}@people.test`))?.reason).toMatch(
        /^bounce: failed /,
      );
    }
    const delayed = ledger.get(letterOf("cat"));
    expect(delayed?.state).toBe("sent");
    expect(delayed?.dsn).toMatch(/delayed 4\.4\.7/);
    expect(await stores.suppressions.get("cat@people.test")).toBeUndefined();
    expect((await stores.suppressions.get("gus@people.test"))?.reason).toMatch(/mailto/);
    expect(await stores.suppressions.get("fay@people.test")).toBeUndefined();
    expect(await stores.suppressions.get("nobody@people.test")).toBeUndefined();
    const failures = await convene(["status", fx.dir, "--failures", "--step", "letter"], prefix);
    expect(failures).toMatch(/BOUNCED/);
    expect(failures).toMatch(
      /bounced\s+letter\s+ann@people\.test\s+bounced: failed 5\.1\.1 smtp; 550 5\.1\.1/,
    );
    expect(failures).not.toMatch(/\S\s+letter\s+cat@people\.test/);

    // RSVPs: exactly the answers delivered, as `convene status --rsvp --json` reports them.
    const answers = await stores.rsvp.all("mini");
    const rsvp = JSON.parse(await convene(["status", fx.dir, "--rsvp", "--json"], prefix))
      .rsvp as RsvpItem[];
    const names = (g: "accepted" | "declined" | "tentative" | "no answer") =>
      rsvp[0]?.teams.flatMap((t) => t.answers[g].map((p) => p.email.split("@")[0])).sort();
    expect(names("accepted")).toEqual(["eve", "hal"]);
    expect(names("declined")).toEqual(["fay"]);
    expect(names("tentative")).toEqual(["cat", "gus"]);
    expect(names("no answer")).toEqual(["ann", "bob", "dan"]);
    expect(rsvp[0]).toMatchObject({ stale: 1, fromNonInvitees: 1 });
    expect(rsvp[0]?.item).toBe(ITEM);
    const text = await convene(["status", fx.dir, "--rsvp"], prefix);
    expect(text).toMatch(/t2 {2}accepted: Eve Five, Hal Eight/);
    expect(text).not.toMatch(/\r|ATTENDEE;/);
    for (const a of answers) expect(a.name ?? "").not.toMatch(/[\r\n]/);

    // Left in INBOX, unflagged: everything not understood or not acted on.
    const inbox = await folder(c, "INBOX");
    expect(inbox.map((m) => m.subject).sort()).toEqual(
      [
        "Automatic reply: Mini letter",
        "Re: Mini letter",
        "New Time Proposed: Day one",
        "Undelivered Mail Returned to Sender",
        `unsubscribe ${forged}`,
        "huge",
        "zip bomb",
        "Invitation: Day one (ACCEPTED)",
      ].sort(),
    );
    for (const m of inbox) expect(m.flags.filter((f) => !f.startsWith("\\Recent"))).toEqual([]);
    const processed = await folder(c, "convene/processed");
    expect(processed).toHaveLength(messages.length - inbox.length);

    // A second run changes nothing.
    const before = await snapshot(prefix);
    const again = await inboundOnce(config, fx.dir);
    expect(again).toEqual({});
    expect(await snapshot(prefix)).toEqual(before);

    // The next reminders: `rsvp: none` reaches only the unanswered, who all bounced; nothing
    // goes to a suppressed address.
    fx.setSteps([
      letterStep("letter"),
      invite,
      letterStep("nudge", { subject: "Mini nudge", when: { rsvp: "none" } }),
      letterStep("followup", { subject: "Mini followup", when: { rsvp: "not-declined" } }),
    ]);
    const sentBefore = smtp.got.length;
    await w.scheduler?.tick();
    await until("reminders decided", async () => {
      const all = await stores.ledger.all("mini");
      const open = [...all].filter(
        ([id, r]) => /\.(nudge|followup)\./.test(id) && ["scheduled", "sending"].includes(r.state),
      );
      return [...all.keys()].some((id) => id.includes(".nudge.")) && open.length === 0;
    });
    const after = await stores.ledger.all("mini");
    const stateOf = (step: string) =>
      Object.fromEntries(
        [...after]
          .filter(([id]) => id.includes(`.${step}.`))
          .map(([, r]) => [r.recipient.split("@")[0], r.state]),
      );
    expect(stateOf("nudge")).toEqual({ ann: "suppressed", bob: "suppressed", dan: "suppressed" });
    expect(stateOf("followup")).toEqual({
      ann: "suppressed",
      bob: "suppressed",
      cat: "sent",
      dan: "suppressed",
      eve: "sent",
      gus: "suppressed",
      hal: "sent",
    });
    const reminders = smtp.got
      .slice(sentBefore)
      .map((g) => g.rcpt.split("@")[0])
      .sort();
    expect(reminders).toEqual(["cat", "eve", "hal"]);
  }, 120_000);

  it("killed with SIGKILL halfway and started again, handles every message exactly once", async () => {
    const prefix = uniquePrefix();
    const fx = writeEvent({ people: PEOPLE, steps: [letterStep("letter")] });
    hooks.cleanups.push(
      () => fx.cleanup(),
      () => deletePrefix(prefix),
    );
    const c = await dovecot.imap();
    hooks.cleanups.push(() => c.logout());
    await c.mailboxCreate("Kill");
    const n = 150;
    for (let i = 0; i < n; i++)
      await c.append(
        "Kill",
        sample("unsubscribe-mailto.eml", {
          ATTENDEE: `p${i}@people.test`,
          ORGANIZER,
          MSGID: `kill-${i}`,
          TOKEN: unsubscribeToken(`p${i}@people.test`, SECRET),
        }),
      );
    const url = `${dovecot.url.replace(/\/INBOX$/, "")}/Kill`;
    const env = { IMAP_URL: url, CONVENE_PREFIX: prefix, REDIS_URL, UNSUBSCRIBE_SECRET: SECRET };
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli.ts"), "inbound", fx.dir, "--once"],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    hooks.children.push(child);
    let lines = 0;
    child.stdout?.on("data", (d: Buffer) => {
      lines += (d.toString().match(/inbound message/g) ?? []).length;
    });
    await until("some messages handled", () => lines >= 20, 60_000);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const stores = createStores(hooks.redis, prefix);
    const halfway = (await stores.suppressions.list()).filter((s) =>
      s.email.startsWith("p"),
    ).length;
    expect(halfway).toBeLessThan(n);

    const config: Config = {
      ...testConfig(prefix, "smtp://127.0.0.1:1"),
      imapUrl: url,
      unsubscribeSecret: SECRET,
    };
    await inboundOnce(config, fx.dir);
    const counts = await stores.inbound.counts(mailboxId(url));
    expect(counts).toEqual({ unsubscribed: n });
    expect(await folder(c, "Kill")).toEqual([]);
    const moved = (await folder(c, "convene/processed")).filter((m) =>
      m.subject.startsWith("unsubscribe "),
    );
    // Every message of this folder exactly once (the processed folder also holds other tests').
    const subjects = moved.map((m) => m.subject);
    for (let i = 0; i < n; i++) {
      const want = `unsubscribe ${unsubscribeToken(`p${i}@people.test`, SECRET)}`;
      expect(
        subjects.filter((s) => s === want),
        want,
      ).toHaveLength(1);
    }
    const sup = (await stores.suppressions.list()).filter((s) => /^p\d+@/.test(s.email));
    expect(sup).toHaveLength(n);
  }, 120_000);

  it("watches with IDLE: new mail is handled while convene worker --inbound runs, and SIGTERM stops it", async () => {
    const prefix = uniquePrefix();
    const fx = writeEvent({ people: PEOPLE, steps: [letterStep("letter")] });
    hooks.cleanups.push(
      () => fx.cleanup(),
      () => deletePrefix(prefix),
    );
    const c = await dovecot.imap();
    hooks.cleanups.push(() => c.logout());
    await c.mailboxCreate("Watch");
    const url = `${dovecot.url.replace(/\/INBOX$/, "")}/Watch`;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli.ts"), "worker", fx.dir, "--inbound"],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          IMAP_URL: url,
          CONVENE_PREFIX: prefix,
          REDIS_URL,
          UNSUBSCRIBE_SECRET: SECRET,
          OUTBOX_DIR: join(fx.dir, "outbox"),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    hooks.children.push(child);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const stores = createStores(hooks.redis, prefix);
    await until("the worker is up", () => out.includes("convene worker started"), 60_000);
    // Let the first (empty) pass finish so the message below arrives while IDLE waits; the poll
    // fallback is a minute, so only a push gets it handled within the timeout.
    await until(
      "the first pass ran",
      async () => (await stores.inbound.mark(mailboxId(url))) !== undefined,
      30_000,
    );
    await c.append(
      "Watch",
      sample("unsubscribe-mailto.eml", {
        ATTENDEE: "watch@people.test",
        ORGANIZER,
        MSGID: "watch-1",
        TOKEN: unsubscribeToken("watch@people.test", SECRET),
      }),
    );
    await until(
      "the new message is handled",
      async () => !!(await stores.suppressions.get("watch@people.test")),
      30_000,
    );
    child.kill("SIGTERM");
    const code = await new Promise((r) => child.once("exit", r));
    expect(code).toBe(0);
    expect(out).not.toContain(dovecot.pass);
  }, 120_000);

  it("a refused login ends convene inbound --once with one line, no password and no stack", async () => {
    const prefix = uniquePrefix();
    hooks.cleanups.push(() => deletePrefix(prefix));
    const wrong = dovecot.url.replace(dovecot.pass, "wrong-password-4711");
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(ROOT, "src/cli.ts"),
        "inbound",
        join(ROOT, "test/fixtures/worker/mini"),
        "--once",
      ],
      {
        cwd: ROOT,
        env: { ...process.env, IMAP_URL: wrong, CONVENE_PREFIX: prefix, REDIS_URL },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    hooks.children.push(child);
    let err = "";
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise((r) => child.once("exit", r));
    expect(code).toBe(1);
    expect(err).toMatch(
      /^convene: could not read the mailbox imap:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+\/INBOX: the login was refused/,
    );
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(err).not.toContain("wrong-password-4711");
    // Without IMAP_URL neither command starts (and the worker leaves nothing running).
    for (const args of [
      ["inbound", "--once"],
      ["worker", "--inbound"],
    ]) {
      const r = runCli(
        [args[0] as string, join(ROOT, "test/fixtures/worker/mini"), ...args.slice(1)],
        {
          IMAP_URL: "",
          CONVENE_PREFIX: prefix,
          REDIS_URL,
        },
      );
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toBe(
        "convene: IMAP_URL is not set (like imaps://user:password@imap.example.org/INBOX)\n",
      );
    }
  }, 120_000);
});

/** Redis state the inbound run writes, to compare before and after a second run. */
async function snapshot(prefix: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await hooks.redis.keys(`${prefix}:*`)).sort()) {
    if (key.includes(":bull:")) continue;
    if ((await hooks.redis.type(key)) === "hash") out[key] = await hooks.redis.hgetall(key);
  }
  return out;
}

/** `convene inbound <dir> --once` as a child process, under /usr/bin/time for its peak RSS. */
async function cliOnce(
  dir: string,
  prefix: string,
  url: string,
): Promise<{ stdout: string; rss: number }> {
  const child = spawn(
    "/usr/bin/time",
    [
      "-f",
      "maxrss=%M",
      process.execPath,
      "--import",
      "tsx",
      join(ROOT, "src/cli.ts"),
      "inbound",
      dir,
      "--once",
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        IMAP_URL: url,
        BOUNCE_ADDRESS: BOUNCES,
        CONVENE_PREFIX: prefix,
        REDIS_URL,
        UNSUBSCRIBE_SECRET: SECRET,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  hooks.children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise((r) => child.once("exit", r));
  if (code !== 0) throw new Error(`convene inbound exited ${code}: ${stderr}\n${stdout}`);
  const kb = Number(/maxrss=(\d+)/.exec(stderr)?.[1] ?? Number.NaN);
  return { stdout, rss: Math.round(kb / 1024) };
}
