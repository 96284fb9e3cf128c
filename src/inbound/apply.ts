/**
 * What a classified inbound message does to convene's state: a hard bounce makes its send
 * `bounced` and suppresses the address, a soft one is noted on the send, an RSVP is recorded
 * per item and invitee, a mailto unsubscribe with a valid token suppresses the address. Every
 * effect is idempotent (compare-and-set, set-if-absent, keyed by message), so a message read
 * twice changes nothing the second time.
 *
 * The outcome says whether the message is moved out of INBOX (understood and acted on) or
 * left there for a person (a human reply, an auto-reply, an unmatched bounce, a forged token).
 */
import { organizerDomain } from "../calendar/uid.js";
import { verpSendId, verpTagMatches } from "../mail/headers.js";
import { verifyUnsubscribeToken } from "../mail/unsubscribe.js";
import type { EventDefinition } from "../model/types.js";
import { parseSendId } from "../planner/send.js";
import type { Stores } from "../store/index.js";
import type { Bounce, Classified, DsnRecipient, Rsvp, RsvpReply } from "./classify.js";

/** The reason stored with a suppression from a hard bounce (status --failures, logs). */
export const BOUNCE_REASON = "bounce";
/** The reason stored with an unsubscribe sent to the List-Unsubscribe mailto address. */
export const MAILTO_REASON = "unsubscribed by mail (List-Unsubscribe mailto)";

export type OutcomeKind =
  | "bounced"
  | "soft-bounce"
  | "unmatched"
  | "unverified"
  | "rsvp"
  | "counter"
  | "unsubscribed"
  | "forged"
  | "auto-reply"
  | "unknown"
  | "malformed"
  | "too-large";

export interface Outcome {
  outcome: OutcomeKind;
  /** Move (or flag) it as processed; otherwise it stays in INBOX untouched. */
  move: boolean;
  /** One line for the log, control characters already removed. */
  detail: string;
}

export interface ApplyContext {
  /** The events this process serves, by id. */
  events: ReadonlyMap<string, EventDefinition>;
  stores: Pick<Stores, "ledger" | "suppressions" | "rsvp" | "calendar">;
  bounceAddress?: string;
  unsubscribeSecret: string;
  now: () => Date;
}

// ---- bounces -------------------------------------------------------------------------------

interface Matched {
  event: string;
  id: string;
  recipient: string;
  dsn: DsnRecipient;
}

/** The send id a Message-ID `<send id@domain>` names. */
function idOfMessageId(mid: string): string {
  return mid.slice(0, mid.lastIndexOf("@"));
}

function candidates(b: Bounce, ctx: ApplyContext): { verp: string[]; other: string[] } {
  const { bounceAddress, unsubscribeSecret } = ctx;
  const verp = bounceAddress
    ? b.verpTo
        .map((a) => verpSendId(a, bounceAddress, unsubscribeSecret))
        .filter((x): x is string => !!x)
    : [];
  const other = [...b.sendIds, ...b.messageIds.map(idOfMessageId)];
  const valid = (ids: string[]) => [...new Set(ids)].filter((id) => parseSendId(id));
  return { verp: valid(verp), other: valid(other) };
}

const sameAddress = (a: string | undefined, b: string) =>
  !!a && a.toLowerCase() === b.toLowerCase();

/** Whether the returned original carries the bounce tag convene wrote for send `id`. */
function provenFor(b: Bounce, id: string, ctx: ApplyContext): boolean {
  return b.tags.some((t) => verpTagMatches(id, t, ctx.unsubscribeSecret));
}

interface BounceMatch {
  matched: Matched[];
  /** Sends the DSN names only by guessable ids, without proof: left for a person. */
  unverified: string[];
}

/**
 * A signed VERP address (mail/headers.ts) names the send exactly, so its one failed recipient
 * is that send's. Message-IDs and send ids are not secret (anyone who got one message of the
 * campaign can compute another recipient's), so a send found from the returned headers must
 * have its recipient named in the DSN and its X-Convene-Bounce-Tag in the returned original;
 * without it the bounce changes nothing and stays in the mailbox.
 */
async function matchBounce(b: Bounce, ctx: ApplyContext): Promise<BounceMatch> {
  const { verp, other } = candidates(b, ctx);
  const out: Matched[] = [];
  const unverified: string[] = [];
  for (const [id, exact] of [
    ...verp.map((id) => [id, true] as const),
    ...other.map((id) => [id, false] as const),
  ]) {
    const event = parseSendId(id)?.event as string;
    if (!ctx.events.has(event) || out.some((m) => m.id === id)) continue;
    const rec = await ctx.stores.ledger.get(event, id);
    if (!rec) continue;
    const named = b.recipients.find(
      (r) =>
        sameAddress(r.recipient, rec.recipient) || sameAddress(r.originalRecipient, rec.recipient),
    );
    const dsn = named ?? (exact && b.recipients.length === 1 ? b.recipients[0] : undefined);
    if (!dsn) continue;
    if (exact || provenFor(b, id, ctx)) out.push({ event, id, recipient: rec.recipient, dsn });
    else unverified.push(id);
  }
  return { matched: out, unverified: unverified.filter((id) => !out.some((m) => m.id === id)) };
}

function diagnosticOf(d: DsnRecipient): string {
  return [d.action, d.status, d.diagnostic].filter(Boolean).join(" ");
}

async function applyBounce(b: Bounce, ctx: ApplyContext): Promise<Outcome> {
  const { matched, unverified } = await matchBounce(b, ctx);
  if (!matched.length && unverified.length)
    return {
      outcome: "unverified",
      move: false,
      detail: `a bounce naming ${unverified.join(", ")} without its VERP address or X-Convene-Bounce-Tag: not trusted, left for a person`,
    };
  if (!matched.length)
    return {
      outcome: "unmatched",
      move: false,
      detail: `a bounce for ${b.recipients.map((r) => r.recipient).join(", ")} that names no send of these events`,
    };
  let hard = 0;
  for (const m of matched) {
    const diagnostic = diagnosticOf(m.dsn);
    if (m.dsn.hard) {
      hard++;
      await ctx.stores.ledger.bounce(m.event, m.id, diagnostic);
      await ctx.stores.suppressions.addIfAbsent(
        m.recipient,
        `${BOUNCE_REASON}: ${diagnostic}`,
        ctx.now(),
      );
    } else if (m.dsn.action !== "delivered" && m.dsn.action !== "relayed")
      await ctx.stores.ledger.noteDsn(m.event, m.id, diagnostic);
  }
  const first = matched[0] as Matched;
  return {
    outcome: hard ? "bounced" : "soft-bounce",
    move: true,
    detail: `${first.id} (${first.recipient}): ${diagnosticOf(first.dsn)}`,
  };
}

// ---- RSVPs ---------------------------------------------------------------------------------

/** `<item>.<event>@<domain>` (calendar/uid.ts), when it is an item of an event served here. */
function itemOfUid(
  uid: string,
  events: ApplyContext["events"],
): { event: string; item: string } | undefined {
  const m = /^([a-z0-9][a-z0-9-]*)\.([a-z0-9][a-z0-9-]*)@(.+)$/.exec(uid.toLowerCase());
  if (!m) return undefined;
  const def = events.get(m[2] as string);
  if (!def || organizerDomain(def.event) !== m[3]) return undefined;
  return { event: m[2] as string, item: m[1] as string };
}

type ReplyResult = "current" | "stale" | "non-invitee" | "future" | "older" | "foreign";

/**
 * When the answer was given: its DTSTAMP, but never later than now. At the same SEQUENCE the
 * later answer wins (scripts/rsvpRecord-1.lua), so a DTSTAMP in 2999 would otherwise keep its
 * answer against every real one until the item changes.
 */
function answeredAt(r: RsvpReply, ctx: ApplyContext): string {
  const now = ctx.now().toISOString();
  return r.stamp && r.stamp < now ? r.stamp : now;
}

/**
 * Whose answer it is: an ATTENDEE line is text anyone can write, so only a REPLY whose From is
 * that attendee counts as theirs (Outlook, Google and Apple all send it from the attendee's
 * address). Another From (a colleague answering, a forged answer, an alias) is kept as an
 * answer from a non-invitee. The From header is what the mailbox's server accepted: checking
 * it against SPF/DKIM/DMARC is that server's job (README).
 */
async function invitee(
  r: RsvpReply,
  from: string,
  event: string,
  item: string,
  ctx: ApplyContext,
): Promise<{ sequence: number } | undefined> {
  if (!sameAddress(from, r.attendee)) return undefined;
  return ctx.stores.calendar.delivered(event, item, r.attendee);
}

async function applyReply(
  r: RsvpReply,
  from: string,
  message: string,
  ctx: ApplyContext,
): Promise<ReplyResult> {
  const target = itemOfUid(r.uid, ctx.events);
  if (!target) return "foreign";
  const { event, item } = target;
  const at = answeredAt(r, ctx);
  const base = {
    item,
    email: r.attendee,
    partstat: r.partstat,
    sequence: r.sequence,
    at,
    ...(r.name ? { name: r.name } : {}),
    ...(sameAddress(from, r.attendee) ? {} : { from }),
  };
  const held = await invitee(r, from, event, item, ctx);
  if (!held) {
    await ctx.stores.rsvp.recordOther(event, message, { why: "non-invitee", ...base });
    return "non-invitee";
  }
  const current = Math.max(await ctx.stores.calendar.sequence(event, item), held.sequence);
  if (r.sequence < current) {
    await ctx.stores.rsvp.recordOther(event, message, { why: "stale", ...base });
    return "stale";
  }
  // A SEQUENCE convene never sent answers nothing, and as the current answer it would outrank
  // every real one (a higher SEQUENCE wins) for good.
  if (r.sequence > current) {
    await ctx.stores.rsvp.recordOther(event, message, { why: "future", ...base });
    return "future";
  }
  const res = await ctx.stores.rsvp.record(event, item, r.attendee, {
    partstat: r.partstat,
    sequence: r.sequence,
    at,
    ...(r.name ? { name: r.name } : {}),
    message,
    ...(r.counter?.start ? { counter: r.counter.start } : {}),
  });
  return res === "older" ? "older" : "current";
}

async function applyRsvp(c: Rsvp, message: string, ctx: ApplyContext): Promise<Outcome> {
  const results: string[] = [];
  for (const r of c.replies) {
    const res = await applyReply(r, c.from, message, ctx);
    if (res !== "foreign") results.push(`${r.attendee} ${r.partstat} seq ${r.sequence} → ${res}`);
  }
  if (!results.length)
    return {
      outcome: "unknown",
      move: false,
      detail: "a calendar reply to no item of these events",
    };
  // A counter-proposal asks the organizer a question: it is recorded, and stays for a person.
  const counter = c.replies.some((r) => r.counter);
  return { outcome: counter ? "counter" : "rsvp", move: !counter, detail: results.join("; ") };
}

// ---- the rest ------------------------------------------------------------------------------

async function applyUnsubscribe(token: string, ctx: ApplyContext): Promise<Outcome> {
  // The same check as the one-click endpoint: only a token convene signed names an address.
  const address = verifyUnsubscribeToken(token, ctx.unsubscribeSecret);
  if (!address)
    return {
      outcome: "forged",
      move: false,
      detail: "an unsubscribe whose token convene did not sign",
    };
  const changed = await ctx.stores.suppressions.addIfAbsent(address, MAILTO_REASON, ctx.now());
  return {
    outcome: "unsubscribed",
    move: true,
    detail: `${address}${changed ? "" : " (already suppressed)"}`,
  };
}

export async function applyClassified(
  c: Classified,
  message: string,
  ctx: ApplyContext,
): Promise<Outcome> {
  switch (c.type) {
    case "bounce":
      return applyBounce(c, ctx);
    case "rsvp":
      return applyRsvp(c, message, ctx);
    case "unsubscribe":
      return applyUnsubscribe(c.token, ctx);
    case "auto-reply":
      return { outcome: "auto-reply", move: false, detail: c.why };
    default:
      return { outcome: c.malformed ? "malformed" : "unknown", move: false, detail: c.why };
  }
}
