/**
 * Forged inbound mail, through the real classifier and the real stores on a real Redis: anyone
 * can mail the organizer's mailbox, so what a message claims (a send id, an ATTENDEE, a
 * SEQUENCE, a DTSTAMP) must not change another person's state. The IMAP side is in
 * inbound.test.ts and mailbox.test.ts.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { type ApplyContext, applyClassified } from "../../src/inbound/apply.js";
import { classify } from "../../src/inbound/classify.js";
import { verpAddress, verpTag } from "../../src/mail/headers.js";
import { unsubscribeToken } from "../../src/mail/unsubscribe.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { sendId } from "../../src/planner/send.js";
import { createStores, type Stores } from "../../src/store/index.js";
import { runCli } from "../support/cli.js";
import { deletePrefix, MINI, REDIS_URL, uniquePrefix } from "../worker/fixture.js";
import { parse, sample } from "./samples.js";

const SECRET = "hostile-test-secret-0123456789abcdef";
const BOUNCES = "bounces@mini.test";
const ORGANIZER = "org@mini.test";
const ITEM = "day-2099-06-20";
const UID = `${ITEM}.mini@mini.test`;
const NOW = new Date("2026-06-01T12:00:00Z");

const prefix = uniquePrefix();
let redis: Redis;
let stores: Stores;
let ctx: ApplyContext;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  stores = createStores(redis, prefix);
  const def = loadEventOrThrow(MINI, KINDS);
  ctx = {
    events: new Map([["mini", def]]),
    stores,
    bounceAddress: BOUNCES,
    unsubscribeSecret: SECRET,
    now: () => NOW,
  };
});
afterAll(async () => {
  await deletePrefix(prefix);
  redis.disconnect();
});

/** A letter recorded as sent to `email`, with the send id the planner gives it. */
async function sentLetter(email: string): Promise<string> {
  const id = sendId({ event: "mini", step: "letter", recipient: email, version: 1 });
  await stores.ledger.transition("mini", id, ["none"], { state: "sent", recipient: email });
  return id;
}

async function apply(raw: string, key: string) {
  const c = classify(await parse(raw), { bounceAddress: BOUNCES });
  return applyClassified(c, key, ctx);
}

function dsn(file: string, id: string, rcpt: string, o: { verp: string; tag: string }) {
  return sample(file, {
    VERP: o.verp,
    RCPT: rcpt,
    MESSAGE_ID: `${id}@mini.test`,
    SEND_ID: id,
    TAG: o.tag,
    ORGANIZER,
  });
}

describe("a forged bounce", () => {
  it("to a VERP address with another recipient's (computable) send id bounces nobody", async () => {
    const victim = "victim1@people.test";
    const id = await sentLetter(victim);
    // An attacker who got any one message of the campaign knows the event and step, and so
    // every other recipient's send id; the VERP address convene wrote before it was tagged.
    const forged = dsn("dsn-postfix.eml", id, victim, {
      verp: `bounces+${id}@mini.test`,
      tag: "000000000000",
    });
    const out = await apply(forged, "f1");
    expect(out.move).toBe(false);
    expect((await stores.ledger.get("mini", id))?.state).toBe("sent");
    expect(await stores.suppressions.get(victim)).toBeUndefined();
    // A tag made with another secret is no better.
    const guessed = dsn("dsn-postfix.eml", id, victim, {
      verp: verpAddress(BOUNCES, id, "guessed-secret-0123456789abcdefgh"),
      tag: verpTag(id, "guessed-secret-0123456789abcdefgh"),
    });
    expect((await apply(guessed, "f2")).move).toBe(false);
    expect(await stores.suppressions.get(victim)).toBeUndefined();
  });

  it("naming the send only by its Message-ID and send id is left for a person, unapplied", async () => {
    const victim = "victim2@people.test";
    const id = await sentLetter(victim);
    // Exim's classic bounce: no VERP, the original quoted with its headers, but no tag.
    const forged = dsn("dsn-exim.eml", id, victim, { verp: "", tag: "" });
    const out = await apply(forged, "f3");
    expect(out).toMatchObject({ outcome: "unverified", move: false });
    expect((await stores.ledger.get("mini", id))?.state).toBe("sent");
    expect(await stores.suppressions.get(victim)).toBeUndefined();
  });

  it("while the real ones, with convene's tag in the envelope or the returned headers, apply", async () => {
    const a = "bounced-a@people.test";
    const b = "bounced-b@people.test";
    const idA = await sentLetter(a);
    const idB = await sentLetter(b);
    const viaVerp = dsn("dsn-postfix.eml", idA, a, {
      verp: verpAddress(BOUNCES, idA, SECRET),
      tag: "000000000000",
    });
    expect(await apply(viaVerp, "r1")).toMatchObject({ outcome: "bounced", move: true });
    const viaHeaders = dsn("dsn-exim.eml", idB, b, { verp: "", tag: verpTag(idB, SECRET) });
    expect(await apply(viaHeaders, "r2")).toMatchObject({ outcome: "bounced", move: true });
    for (const [id, who] of [
      [idA, a],
      [idB, b],
    ] as const) {
      expect((await stores.ledger.get("mini", id))?.state).toBe("bounced");
      expect((await stores.suppressions.get(who))?.reason).toMatch(/^bounce: /);
    }
  });
});

const reply = (o: Record<string, string | number>) =>
  sample("reply-apple.eml", {
    CN_PLAIN: "Someone",
    CN: "Someone",
    ATTENDEE: "x@people.test",
    ORGANIZER,
    UID,
    SEQUENCE: 1,
    DTSTAMP: "20260530T173000Z",
    PARTSTAT: "ACCEPTED",
    MSGID: Math.random().toString(36).slice(2),
    ...o,
  });

/** The invitee holds SEQUENCE `seq` of the item, as the worker records after SMTP. */
async function holds(email: string, seq: number) {
  await stores.calendar.recordDelivery("mini", ITEM, email, {
    step: "invite",
    sequence: seq,
    method: "REQUEST",
  });
}

async function answerOf(email: string) {
  return (await stores.rsvp.all("mini")).find((e) => e.email === email)?.partstat;
}

describe("a forged RSVP", () => {
  it("naming another invitee as ATTENDEE, from an outside address, never becomes their answer", async () => {
    const victim = "rsvp-victim@people.test";
    await holds(victim, 1);
    const forged = reply({ ATTENDEE: victim, PARTSTAT: "DECLINED" }).replace(
      /^From: .*$/m,
      "From: Mallory <mallory@elsewhere.test>",
    );
    await apply(forged, "r-forged");
    expect(await answerOf(victim)).toBeUndefined();
    const other = (await stores.rsvp.others("mini")).find((o) => o.email === victim);
    expect(other).toMatchObject({ why: "non-invitee", from: "mallory@elsewhere.test" });
    // The invitee's own answer, from their address, counts.
    await apply(reply({ ATTENDEE: victim, PARTSTAT: "ACCEPTED" }), "r-own");
    expect(await answerOf(victim)).toBe("ACCEPTED");
  });

  it("to a SEQUENCE never sent, or dated in the future, cannot lock an answer in", async () => {
    const who = "rsvp-seq@people.test";
    await holds(who, 1);
    await apply(reply({ ATTENDEE: who, PARTSTAT: "DECLINED", SEQUENCE: 999999999 }), "s1");
    expect(await answerOf(who)).toBeUndefined();
    expect((await stores.rsvp.others("mini")).find((o) => o.email === who)?.why).toBe("future");
    await apply(reply({ ATTENDEE: who, PARTSTAT: "ACCEPTED", SEQUENCE: 1 }), "s2");
    expect(await answerOf(who)).toBe("ACCEPTED");

    const late = "rsvp-stamp@people.test";
    await holds(late, 1);
    await apply(reply({ ATTENDEE: late, PARTSTAT: "DECLINED", DTSTAMP: "29990101T000000Z" }), "t1");
    expect(await answerOf(late)).toBe("DECLINED");
    // A later real answer to the same SEQUENCE replaces it.
    ctx.now = () => new Date(NOW.getTime() + 60_000);
    await apply(reply({ ATTENDEE: late, PARTSTAT: "ACCEPTED", DTSTAMP: "20260601T120030Z" }), "t2");
    ctx.now = () => NOW;
    expect(await answerOf(late)).toBe("ACCEPTED");
  });

  it("with thousands of ATTENDEE lines is refused whole, not stored line by line", async () => {
    const lines = Array.from(
      { length: 3000 },
      (_, i) => `ATTENDEE;PARTSTAT=DECLINED:mailto:flood${i}@people.test`,
    ).join("\r\n");
    const flood = reply({ ATTENDEE: "flood@people.test" }).replace(
      /^ATTENDEE.*$/m,
      (line) => `${line}\r\n${lines}`,
    );
    const before = (await stores.rsvp.others("mini")).length;
    const out = await apply(flood, "flood");
    expect(out).toMatchObject({ outcome: "malformed", move: false });
    expect((await stores.rsvp.others("mini")).length).toBe(before);
  });
});

describe("the secret forged tokens are told apart with", () => {
  it("must be a real one: without it convene inbound and worker --inbound do not start", () => {
    for (const [secret, why] of [
      ["", /UNSUBSCRIBE_SECRET is not set/],
      ["short-secret", /UNSUBSCRIBE_SECRET has 12 characters/],
    ] as const)
      for (const args of [
        ["inbound", MINI, "--once"],
        ["worker", MINI, "--inbound"],
      ]) {
        // No SMTP_URL: the outbox, where the development secret is otherwise fine.
        const r = runCli(args, {
          IMAP_URL: "imap://organizer:pw@127.0.0.1:1/INBOX",
          UNSUBSCRIBE_SECRET: secret,
          SMTP_URL: "",
          CONVENE_PREFIX: prefix,
          REDIS_URL,
        });
        expect(r.status, args.join(" ")).toBe(1);
        expect(r.stderr).toMatch(why);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).not.toContain("pw@");
      }
  });
});

describe("a real bounce of a big message", () => {
  it("is matched by the returned headers even when the original is larger than a calendar part", async () => {
    const who = "big-original@people.test";
    const id = await sentLetter(who);
    // Postfix returns the whole original: a letter with its 1 MB flyer enclosure.
    const flyer = `${"QUJD".repeat(19)}\r\n`.repeat(14_000);
    const big = dsn("dsn-postfix.eml", id, who, { verp: "", tag: verpTag(id, SECRET) })
      .replace("Content-Type: text/rfc822-headers", "Content-Type: message/rfc822")
      .replace(/(X-Convene-Bounce-Tag: [0-9a-f]+\r\n)\r\n/, `$1MIME-Version: 1.0\r\n\r\n${flyer}`);
    expect(big.length).toBeGreaterThan(1_000_000);
    const out = await apply(big, "big");
    expect(out).toMatchObject({ outcome: "bounced", move: true });
    expect((await stores.ledger.get("mini", id))?.state).toBe("bounced");
  });
});

describe("what held up", () => {
  it("a REPLY to an item UID of another event, or another domain, changes no answer", async () => {
    const who = "rsvp-uid@people.test";
    await holds(who, 1);
    for (const uid of [`${ITEM}.other@mini.test`, `${ITEM}.mini@evil.test`]) {
      const out = await apply(reply({ ATTENDEE: who, UID: uid }), `uid-${uid}`);
      expect(out).toMatchObject({ outcome: "unknown", move: false });
    }
    expect(await answerOf(who)).toBeUndefined();
  });

  it("a mailto unsubscribe with A's valid token sent from B unsubscribes A, as A's link would", async () => {
    // The token decides, as on the https endpoint: it only ever reached A's mailbox, and mail
    // clients often send from another identity. B is not touched.
    const a = "token-owner@people.test";
    const raw = sample("unsubscribe-mailto.eml", {
      ATTENDEE: "someone-else@elsewhere.test",
      ORGANIZER,
      MSGID: "unsub-from-b",
      TOKEN: unsubscribeToken(a, SECRET),
    });
    expect(await apply(raw, "unsub-b")).toMatchObject({ outcome: "unsubscribed", move: true });
    expect((await stores.suppressions.get(a))?.reason).toMatch(/mailto/);
    expect(await stores.suppressions.get("someone-else@elsewhere.test")).toBeUndefined();
  });
});
