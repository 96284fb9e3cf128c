/**
 * The invite lifecycle, as a pure function: given the definition, the planner's sends and what
 * convene remembers about each calendar item, which updates and cancellations are due now.
 *
 * Per item convene remembers its SEQUENCE, the fingerprint and snapshot of the version attendees
 * were last sent (see snapshot.ts for which fields count as a change), and per recipient what
 * was delivered (recorded by the worker after SMTP accepted it) and what reconcile has already
 * issued (so a second run issues nothing twice).
 *
 * Rules:
 *  - An item's SEQUENCE is 0 until someone has received it; edits before that cost nothing.
 *  - A change of time, place, status or title (of the item or of the sessions shown in it),
 *    once someone has the item, makes SEQUENCE + 1 and sends a REQUEST with the new SEQUENCE to
 *    every recipient who holds it. A description-only edit changes nothing.
 *  - An item that is removed, cancelled or back to TBD makes SEQUENCE + 1 and sends a CANCEL to
 *    every holder. If it comes back, holders get a REQUEST with a higher SEQUENCE again.
 *  - A holder who is no longer planned for the item (left the audience, filtered out) gets a
 *    CANCEL; the others are not disturbed.
 *  - First invites are the planner's version-0 sends; they are rendered at send time with the
 *    item's CURRENT sequence, so a first invite never needs a separate update. If one was
 *    rendered before a change and delivered after it, its recorded sequence is below the
 *    item's, and the next run sends that recipient the update.
 *  - Every issued version is above what that recipient had, so clients always accept it.
 */
import { DateTime } from "luxon";
import type { EventDefinition } from "../model/types.js";
import { type Send, sendId } from "../planner/send.js";
import type { InviteBasis } from "./basis.js";
import { itemsOf } from "./items-of.js";
import { fingerprint, type ItemFields, type ItemSnapshot, itemSnapshot } from "./snapshot.js";

export type CalendarMethod = "REQUEST" | "CANCEL";

/** What the worker records after SMTP accepted an invite, update or cancellation. */
export interface DeliveryRecord {
  step: string;
  /** The SEQUENCE the message carried. */
  sequence: number;
  method: CalendarMethod;
  /**
   * The recipient's name as the message was addressed. Kept so that a CANCEL to someone who
   * has since left the audience CSV still greets them by name rather than by address.
   */
  name?: string;
  team?: string;
  /**
   * How the message was composed (step wording, organizer, UID): its update or CANCEL is
   * composed from this when the step is gone. Absent on records written before it was kept.
   */
  basis?: InviteBasis;
}

/** An update or cancellation reconcile has handed to the scheduler. */
export interface IssuedRecord {
  step: string;
  version: number;
  method: CalendarMethod;
}

export interface RecipientState {
  delivered?: DeliveryRecord;
  issued?: IssuedRecord;
}

export interface ItemState {
  /** The item's current SEQUENCE. */
  sequence: number;
  /** The SEQUENCE at which the current content (fingerprint) was first issued. */
  contentSequence: number;
  /** "" when unknown (deliveries recorded before reconcile first saw the item). */
  fingerprint: string;
  /** The version attendees hold; used to word a CANCEL for an item no longer defined. */
  snapshot?: ItemSnapshot;
  /** Removed, cancelled or back to TBD, as far as attendees have been told. */
  cancelled: boolean;
  /** By lower-case e-mail address. */
  recipients: Record<string, RecipientState>;
}

export interface CalendarState {
  items: Record<string, ItemState>;
}

export interface CalendarSend extends Send {
  method: CalendarMethod;
  /** For an update caused by an edit: which of time, place, status, title, agenda changed. */
  changed?: string[];
}

export type ChangeReason = "changed" | "cancelled" | "removed" | "tbd" | "restored";

export interface ItemChange {
  item: string;
  reason: ChangeReason;
  /** Which of time, place, status, title, agenda differ (for "changed"). */
  fields: string[];
  from: number;
  to: number;
}

export interface Reconciliation {
  updates: CalendarSend[];
  cancellations: CalendarSend[];
  /** Planned version-0 invites for recipients who have nothing for the item yet (informational). */
  firstInvites: Send[];
  changes: ItemChange[];
  /** The state to store (items and issued marks; delivery records are the worker's). */
  state: CalendarState;
}

export function emptyState(): CalendarState {
  return { items: {} };
}

function latest(r: RecipientState): (IssuedRecord & { at: "issued" | "delivered" }) | undefined {
  const d = r.delivered
    ? {
        step: r.delivered.step,
        version: r.delivered.sequence,
        method: r.delivered.method,
        at: "delivered" as const,
      }
    : undefined;
  const i = r.issued ? { ...r.issued, at: "issued" as const } : undefined;
  if (!d) return i;
  if (!i) return d;
  return i.version >= d.version ? i : d;
}

function whenKey(f: ItemFields): string {
  return JSON.stringify(f.when);
}

function changedFields(a: ItemSnapshot, b: ItemSnapshot): string[] {
  const out: string[] = [];
  if (whenKey(a) !== whenKey(b)) out.push("time");
  if ((a.location ?? "") !== (b.location ?? "")) out.push("place");
  if (a.status !== b.status) out.push("status");
  if (a.summary !== b.summary) out.push("title");
  const parts = (s: ItemSnapshot) =>
    JSON.stringify(s.parts.map((p) => [p.id, p.summary, p.status, p.when, p.location ?? null]));
  if (parts(a) !== parts(b)) out.push("agenda");
  return out;
}

function endOf(s: ItemSnapshot | undefined): DateTime | undefined {
  const w = s?.when;
  if (!w) return undefined;
  if (w.type === "timed") return DateTime.fromISO(w.end);
  if (w.type === "all-day") return DateTime.fromISO(w.endDate, { zone: "UTC" });
  return undefined;
}

const key = (item: string, email: string) => `${item}\n${email.toLowerCase()}`;

export function reconcile(
  def: EventDefinition,
  planned: readonly Send[],
  state: CalendarState,
  now: DateTime,
): Reconciliation {
  const ev = def.event;
  const all = itemsOf(ev);
  const byId = new Map(all.map((i) => [i.id, i]));
  const plannedCal = planned.filter(
    (s) => s.kind === "calendar-invite" && s.item && s.event === ev.id,
  );
  const plannedByKey = new Map<string, Send>();
  for (const s of plannedCal) {
    const k = key(s.item as string, s.recipient);
    if (!plannedByKey.has(k)) plannedByKey.set(k, s);
  }
  const people = new Map(
    Object.values(def.audiences)
      .flat()
      .map((r) => [r.email.toLowerCase(), r]),
  );

  const next: CalendarState = { items: {} };
  const updates: CalendarSend[] = [];
  const cancellations: CalendarSend[] = [];
  const firstInvites: Send[] = [];
  const changes: ItemChange[] = [];

  const ids = [
    ...new Set([...Object.keys(state.items), ...plannedCal.map((s) => s.item as string)]),
  ].sort();
  for (const id of ids) {
    const prev = state.items[id];
    const item = byId.get(id);
    const snap = item && item.when.type !== "tbd" ? itemSnapshot(ev, item, all) : undefined;
    const live = !!snap && snap.status !== "CANCELLED";
    const fp = snap ? fingerprint(snap) : undefined;

    for (const s of plannedCal)
      if (s.item === id && s.version === 0 && !prev?.recipients[s.recipient.toLowerCase()])
        firstInvites.push(s);

    if (!prev) {
      if (live && snap && fp)
        next.items[id] = {
          sequence: 0,
          contentSequence: 0,
          fingerprint: fp,
          snapshot: snap,
          cancelled: false,
          recipients: {},
        };
      continue;
    }

    const everSent = Object.values(prev.recipients).some((r) => r.delivered || r.issued);
    // An unknown fingerprint is adopted, not treated as a change: the worker renders every
    // invite from the current definition, so whatever was delivered matches it.
    const known = prev.fingerprint !== "";
    const changed = live && ((known && fp !== prev.fingerprint) || prev.cancelled);
    const gone = !live && !prev.cancelled;

    const actions: { email: string; step: string; method: CalendarMethod; had: number }[] = [];
    for (const [email, r] of Object.entries(prev.recipients)) {
      const last = latest(r);
      if (!last) continue;
      const holds = last.method === "REQUEST";
      const inPlan = plannedByKey.has(key(id, email));
      let method: CalendarMethod | undefined;
      if (!live || !inPlan) method = holds ? "CANCEL" : undefined;
      else if (!holds) method = "REQUEST";
      else if (changed || last.version < prev.contentSequence) method = "REQUEST";
      if (method) actions.push({ email, step: last.step, method, had: last.version });
    }

    const base = (changed || gone) && everSent ? prev.sequence + 1 : prev.sequence;
    const sequence = Math.max(base, ...actions.map((a) => a.had + 1));
    const item_: ItemState = {
      sequence,
      contentSequence: changed ? sequence : prev.contentSequence,
      fingerprint: live && fp ? fp : prev.fingerprint,
      ...(live && snap ? { snapshot: snap } : prev.snapshot ? { snapshot: prev.snapshot } : {}),
      cancelled: !live,
      recipients: { ...prev.recipients },
    };
    next.items[id] = item_;

    let fields: string[] = [];
    if (changed || gone) {
      const reason: ChangeReason = gone
        ? !item
          ? "removed"
          : item.when.type === "tbd"
            ? "tbd"
            : "cancelled"
        : prev.cancelled
          ? "restored"
          : "changed";
      fields =
        reason === "changed" && snap && prev.snapshot ? changedFields(prev.snapshot, snap) : [];
      changes.push({
        item: id,
        reason,
        fields,
        from: prev.sequence,
        to: sequence,
      });
    }

    const end = endOf(item_.snapshot);
    const expires = end && end > now.plus({ hours: 1 }) ? end : now.plus({ days: 1 });
    for (const a of actions) {
      const planned_ = plannedByKey.get(key(id, a.email));
      const person = people.get(a.email);
      const step = planned_?.step ?? a.step;
      const team = planned_?.team ?? person?.team ?? prev.recipients[a.email]?.delivered?.team;
      const send: CalendarSend = {
        id: sendId({ event: ev.id, step, recipient: a.email, item: id, version: sequence }),
        event: ev.id,
        step,
        kind: "calendar-invite",
        recipient: planned_?.recipient ?? person?.email ?? a.email,
        name:
          planned_?.name ?? person?.name ?? prev.recipients[a.email]?.delivered?.name ?? a.email,
        ...(team ? { team } : {}),
        item: id,
        version: sequence,
        due: now.toUTC().toISO() as string,
        dueLocal: now.setZone(ev.timezone).toISO() as string,
        zone: ev.timezone,
        expires: expires.toUTC().toISO() as string,
        method: a.method,
        // `fields` compare with the content last issued: only a holder of that content is told
        // what changed; one who missed an earlier update gets the current version without a list.
        ...(a.method === "REQUEST" && fields.length && a.had >= prev.contentSequence
          ? { changed: fields }
          : {}),
      };
      (a.method === "REQUEST" ? updates : cancellations).push(send);
      item_.recipients[a.email] = {
        ...item_.recipients[a.email],
        issued: { step, version: sequence, method: a.method },
      };
    }
  }
  return { updates, cancellations, firstInvites, changes, state: next };
}

/**
 * For the worker's re-check before sending: an update or cancellation whose version is below
 * the item's current SEQUENCE has been superseded by a newer one and must not go out. (First
 * invites, version 0, are rendered with the current SEQUENCE instead.)
 */
export function isSuperseded(send: Pick<Send, "version">, item: ItemState | undefined): boolean {
  return send.version > 0 && !!item && send.version < item.sequence;
}
