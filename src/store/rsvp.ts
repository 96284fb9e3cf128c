/**
 * RSVP answers read from iMIP REPLYs (src/inbound/apply.ts). Per event, two hashes (keys.ts):
 *   rsvp       itemId \n email              → JSON RsvpRecord: the invitee's current answer
 *   rsvpOther  message \n itemId \n email   → JSON OtherAnswer: a stale or non-invitee answer,
 *                                              kept for the record, never the current one
 * The current answer is replaced only by a REPLY to the same or a higher SEQUENCE
 * (scripts/rsvpRecord-1.lua), so messages read out of order never bring back an old answer.
 */

import type { RsvpAnswer } from "../types.js";
import type { Keys } from "./keys.js";
import type { Redis } from "./redis.js";
import { defineScripts } from "./scripts.js";

export interface RsvpRecord {
  /** ACCEPTED, DECLINED, TENTATIVE (or another PARTSTAT a client sent). */
  partstat: string;
  /** The SEQUENCE the REPLY answers. */
  sequence: number;
  /** ISO UTC: the REPLY's DTSTAMP, else when it was read. */
  at: string;
  /** The name the REPLY gave (CN), control characters removed. */
  name?: string;
  /** The message it came from (the hash of its content, run.ts): makes a re-read a no-op. */
  message: string;
  /** A counter-proposal's proposed start (ISO UTC), when the answer came as METHOD:COUNTER. */
  counter?: string;
}

export interface OtherAnswer {
  /**
   * stale: to an older SEQUENCE; non-invitee: from an address that does not hold the item, or
   * from another address than the ATTENDEE's (`from`); future: to a SEQUENCE never sent.
   */
  why: "stale" | "non-invitee" | "future";
  item: string;
  email: string;
  partstat: string;
  sequence: number;
  at: string;
  name?: string;
  /** The From address, when it is not the ATTENDEE's. */
  from?: string;
}

export interface RsvpEntry extends RsvpRecord {
  item: string;
  email: string;
}

const SEP = "\n";

export class RsvpStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    defineScripts(redis);
  }

  /** → "recorded" | "older" (a newer answer is kept) | "again" (this message was read before). */
  async record(
    event: string,
    item: string,
    email: string,
    r: RsvpRecord,
  ): Promise<"recorded" | "older" | "again"> {
    const res = await this.redis.rsvpRecord(
      this.keys.rsvp(event),
      `${item}${SEP}${email.toLowerCase()}`,
      JSON.stringify(r),
      String(r.sequence),
      r.at,
      r.message,
    );
    return res === 1 ? "recorded" : res === 2 ? "again" : "older";
  }

  async recordOther(event: string, message: string, a: OtherAnswer): Promise<void> {
    const field = [message, a.item, a.email.toLowerCase()].join(SEP);
    await this.redis.hset(this.keys.rsvpOther(event), field, JSON.stringify(a));
  }

  async all(event: string): Promise<RsvpEntry[]> {
    return rsvpEntries(await this.redis.hgetall(this.keys.rsvp(event)));
  }

  async others(event: string): Promise<OtherAnswer[]> {
    const raw = await this.redis.hvals(this.keys.rsvpOther(event));
    return raw.map((json) => JSON.parse(json) as OtherAnswer);
  }

  /** What the planner needs: each invitee's current answer per item. */
  async answers(event: string): Promise<RsvpAnswer[]> {
    return rsvpAnswers(await this.all(event));
  }
}

/** The RSVP hash as read (HGETALL), decoded; shared with the send checks (send-checks.ts). */
export function rsvpEntries(raw: Record<string, string>): RsvpEntry[] {
  return Object.entries(raw).map(([field, json]) => {
    const [item = "", email = ""] = field.split(SEP);
    return { item, email, ...(JSON.parse(json) as RsvpRecord) };
  });
}

export function rsvpAnswers(entries: readonly RsvpEntry[]): RsvpAnswer[] {
  return entries.map((e) => ({ item: e.item, email: e.email, partstat: e.partstat }));
}
