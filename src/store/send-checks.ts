/**
 * What a processor re-checks one send with before it claims it (worker/runtime.ts), read in one
 * round trip rather than one per store: one script (scripts/sendChecks-7.lua) reads the event's
 * part and the address's suppression. On a cluster the suppression is global and of another
 * slot than the event's keys, so there it is an HGET sent alongside the script, still one round
 * trip. Each part is decoded as its own store decodes it, so a send sees what the separate reads
 * would have answered, only read together.
 */
import type { DeliveryRecord, ItemState } from "../calendar/lifecycle.js";
import type { Registration } from "../model/types.js";
import type { RsvpAnswer } from "../types.js";
import { decodeDelivery, decodeItem, recipientField } from "./calendar-state.js";
import { type ControlState, Controls } from "./control.js";
import type { Keys } from "./keys.js";
import { decode, type LedgerRecord } from "./ledger.js";
import type { Redis } from "./redis.js";
import { rsvpAnswers, rsvpEntries } from "./rsvp.js";
import { defineScripts } from "./scripts.js";
import { decodeSuppression, type Suppression } from "./suppressions.js";

export interface SendChecksRequest {
  event: string;
  id: string;
  recipient: string;
  /** The recipient's team in the current definition: its registration recorded in Redis. */
  team?: string;
  /** The calendar item of an invite: its stored state and what this recipient holds. */
  item?: string;
  /** Read the event's RSVP answers (only when a step of it has `when: { rsvp }`). */
  rsvp: boolean;
}

export interface SendSnapshot {
  ledger: LedgerRecord | undefined;
  controls: Controls;
  /** The team's registration recorded in Redis (the registrations file is the definition's). */
  registrations: Registration[];
  /** Only when an item was asked for. */
  calendar?: { item: ItemState | undefined; delivered: DeliveryRecord | undefined };
  /** Empty unless asked for. */
  rsvps: RsvpAnswer[];
  suppression: Suppression | undefined;
}

/** HGETALL's reply as a script returns it: field, value, field, value… */
function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

export class SendChecks {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    defineScripts(redis);
  }

  async read(r: SendChecksRequest): Promise<SendSnapshot> {
    const k = this.keys;
    const ev = r.event;
    const address = r.recipient.toLowerCase();
    // One command per send fewer where the keys allow it: a script may touch only keys of one
    // slot, so on a cluster KEYS[7] repeats the ledger's key and is not read.
    const inScript = !k.cluster;
    const [event, alone] = await Promise.all([
      this.redis.sendChecks(
        k.ledger(ev),
        k.control(ev),
        k.registrations(ev),
        k.calendarItems(ev),
        k.calendarDelivered(ev),
        k.rsvp(ev),
        inScript ? k.suppressed() : k.ledger(ev),
        r.id,
        r.team ?? "",
        r.item ?? "",
        r.item ? recipientField(r.item, r.recipient) : "",
        r.rsvp ? "1" : "0",
        inScript ? address : "",
      ),
      // Sent before the script's answer is awaited: one round trip, two slots.
      inScript ? null : this.redis.hget(k.suppressed(), address),
    ]);
    const suppressed = inScript ? event[6] : alone;
    const [ledger, control, registeredAt, item, delivered, rsvp] = event;
    return {
      ledger: ledger ? decode(ledger) : undefined,
      controls: new Controls(pairs(control) as Record<string, ControlState>),
      registrations: r.team && registeredAt ? [{ team: r.team, registeredAt }] : [],
      ...(r.item
        ? { calendar: { item: decodeItem(item), delivered: decodeDelivery(delivered) } }
        : {}),
      rsvps: rsvpAnswers(rsvpEntries(pairs(rsvp))),
      suppression: decodeSuppression(r.recipient, suppressed),
    };
  }
}
