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
import { itemsOf } from "../model/items.js";
import type { MessageKind } from "../model/schema.js";
import type { EventDefinition } from "../model/types.js";
import { type Send, sendId } from "../planner/send.js";
import type { CalendarMethod, CalendarSend } from "../types.js";
import type { InviteBasis } from "./basis.js";
import { fingerprint, type ItemFields, type ItemSnapshot, itemSnapshot } from "./snapshot.js";

export type { CalendarMethod, CalendarSend } from "../types.js";

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

/** What every item's reconciliation reads: the definition and the plan, indexed. */
interface Inputs {
  def: EventDefinition;
  all: ReturnType<typeof itemsOf>;
  byId: Map<string, ReturnType<typeof itemsOf>[number]>;
  /** The planner's sends that carry a calendar item. */
  withItem: Send[];
  /** The first planned send per item and recipient. */
  plannedByKey: Map<string, Send>;
  people: Map<string, EventDefinition["audiences"][string][number]>;
  /** The kind the caller says carries calendar items, when neither plan nor step tells. */
  carrier: MessageKind | undefined;
  now: DateTime;
}

function inputsOf(
  def: EventDefinition,
  planned: readonly Send[],
  now: DateTime,
  carrier: MessageKind | undefined,
): Inputs {
  const all = itemsOf(def.event);
  const withItem = planned.filter((s) => s.item && s.event === def.event.id);
  const plannedByKey = new Map<string, Send>();
  for (const s of withItem) {
    const k = key(s.item as string, s.recipient);
    if (!plannedByKey.has(k)) plannedByKey.set(k, s);
  }
  const people = new Map(
    Object.values(def.audiences)
      .flat()
      .map((r) => [r.email.toLowerCase(), r]),
  );
  return {
    def,
    all,
    byId: new Map(all.map((i) => [i.id, i])),
    withItem,
    plannedByKey,
    people,
    carrier,
    now,
  };
}

/** One item as the definition has it now. */
interface ItemNow {
  id: string;
  item: ReturnType<typeof itemsOf>[number] | undefined;
  /** Undefined while the item is gone or TBD. */
  snap: ItemSnapshot | undefined;
  /** Defined, timed and not cancelled: attendees should hold it. */
  live: boolean;
  fp: string | undefined;
}

function itemNow(id: string, x: Inputs): ItemNow {
  const item = x.byId.get(id);
  const snap =
    item && item.when.type !== "tbd" ? itemSnapshot(x.def.event, item, x.all) : undefined;
  return {
    id,
    item,
    snap,
    live: !!snap && snap.status !== "CANCELLED",
    fp: snap ? fingerprint(snap) : undefined,
  };
}

/** What happened to a known item since attendees were last told. */
interface Verdict {
  /** Live with new content, or back after a cancel: holders get a REQUEST. */
  changed: boolean;
  /** Removed, cancelled or back to TBD: holders get a CANCEL. */
  gone: boolean;
  everSent: boolean;
}

function verdictOf(prev: ItemState, now: ItemNow): Verdict {
  // An unknown fingerprint is adopted, not treated as a change: the worker renders every
  // invite from the current definition, so whatever was delivered matches it.
  const known = prev.fingerprint !== "";
  return {
    changed: now.live && ((known && now.fp !== prev.fingerprint) || prev.cancelled),
    gone: !now.live && !prev.cancelled,
    everSent: Object.values(prev.recipients).some((r) => r.delivered || r.issued),
  };
}

/** First invites: the planner's version-0 sends to recipients who have nothing for the item. */
function firstInvites(id: string, prev: ItemState | undefined, x: Inputs): Send[] {
  return x.withItem.filter(
    (s) => s.item === id && s.version === 0 && !prev?.recipients[s.recipient.toLowerCase()],
  );
}

/** An item seen for the first time: remembered at SEQUENCE 0 while it is live. */
function firstSeen(now: ItemNow): ItemState | undefined {
  if (!now.live || !now.snap || !now.fp) return undefined;
  return {
    sequence: 0,
    contentSequence: 0,
    fingerprint: now.fp,
    snapshot: now.snap,
    cancelled: false,
    recipients: {},
  };
}

/** A message reconcile owes one recipient of an item. */
interface Action {
  email: string;
  step: string;
  method: CalendarMethod;
  /** The version the recipient has (delivered or issued). */
  had: number;
}

/**
 * The transition for one recipient, from the last version they were sent:
 *  - cancel: the item is gone (removed, cancelled, TBD) or they are no longer planned for it,
 *    and they hold it;
 *  - re-issue: they were cancelled and the item is live and planned for them again;
 *  - update: they hold it and its content changed, or their copy predates the current content
 *    (a first invite rendered before a change and delivered after it);
 *  - nothing otherwise.
 */
function methodFor(
  last: IssuedRecord,
  o: { live: boolean; inPlan: boolean; changed: boolean; contentSequence: number },
): CalendarMethod | undefined {
  const holds = last.method === "REQUEST";
  if (!o.live || !o.inPlan) return holds ? "CANCEL" : undefined;
  if (!holds) return "REQUEST";
  if (o.changed || last.version < o.contentSequence) return "REQUEST";
  return undefined;
}

function actionsFor(prev: ItemState, now: ItemNow, v: Verdict, x: Inputs): Action[] {
  const actions: Action[] = [];
  for (const [email, r] of Object.entries(prev.recipients)) {
    const last = latest(r);
    if (!last) continue;
    const method = methodFor(last, {
      live: now.live,
      inPlan: x.plannedByKey.has(key(now.id, email)),
      changed: v.changed,
      contentSequence: prev.contentSequence,
    });
    if (method) actions.push({ email, step: last.step, method, had: last.version });
  }
  return actions;
}

/**
 * The item's next SEQUENCE: one up for a change or removal once someone has it, and always above
 * what every recipient being written to had, so clients accept it.
 */
function nextSequence(prev: ItemState, v: Verdict, actions: readonly Action[]): number {
  const base = (v.changed || v.gone) && v.everSent ? prev.sequence + 1 : prev.sequence;
  return Math.max(base, ...actions.map((a) => a.had + 1));
}

function nextItemState(prev: ItemState, now: ItemNow, v: Verdict, sequence: number): ItemState {
  const snapshot = now.live && now.snap ? now.snap : prev.snapshot;
  return {
    sequence,
    contentSequence: v.changed ? sequence : prev.contentSequence,
    fingerprint: now.live && now.fp ? now.fp : prev.fingerprint,
    ...(snapshot ? { snapshot } : {}),
    cancelled: !now.live,
    recipients: { ...prev.recipients },
  };
}

function reasonOf(prev: ItemState, now: ItemNow, v: Verdict): ChangeReason {
  if (!v.gone) return prev.cancelled ? "restored" : "changed";
  if (!now.item) return "removed";
  return now.item.when.type === "tbd" ? "tbd" : "cancelled";
}

/** The change to report, or undefined when neither changed nor gone. */
function changeOf(
  prev: ItemState,
  now: ItemNow,
  v: Verdict,
  sequence: number,
): ItemChange | undefined {
  if (!v.changed && !v.gone) return undefined;
  const reason = reasonOf(prev, now, v);
  const fields =
    reason === "changed" && now.snap && prev.snapshot ? changedFields(prev.snapshot, now.snap) : [];
  return { item: now.id, reason, fields, from: prev.sequence, to: sequence };
}

/** How long an update or CANCEL may wait: until the item ends, at least an hour, else a day. */
function expiryOf(item: ItemState, now: DateTime): DateTime {
  const end = endOf(item.snapshot);
  return end && end > now.plus({ hours: 1 }) ? end : now.plus({ days: 1 });
}

/**
 * The kind of the send an update belongs to, from data rather than a literal (jobs/ decides
 * which kind carries calendar items): the recipient's planned send, else any planned send of
 * the item, else the caller's `carrier`, else the step's own kind.
 */
function kindFor(step: string, planned: Send | undefined, item: string, x: Inputs): MessageKind {
  const kind =
    planned?.kind ??
    x.withItem.find((s) => s.item === item)?.kind ??
    x.carrier ??
    x.def.campaign.steps.find((s) => s.id === step)?.kind;
  if (!kind) throw new Error(`calendar item ${item}: no kind known for its update to step ${step}`);
  return kind;
}

/** The update or CANCEL for one action, at the item's new SEQUENCE. */
function issuedSend(
  a: Action,
  o: { prev: ItemState; item: ItemState; id: string; fields: string[]; expires: DateTime },
  x: Inputs,
): CalendarSend {
  const ev = x.def.event;
  const planned = x.plannedByKey.get(key(o.id, a.email));
  const person = x.people.get(a.email);
  const delivered = o.prev.recipients[a.email]?.delivered;
  const step = planned?.step ?? a.step;
  const team = planned?.team ?? person?.team ?? delivered?.team;
  return {
    id: sendId({ event: ev.id, step, recipient: a.email, item: o.id, version: o.item.sequence }),
    event: ev.id,
    step,
    kind: kindFor(step, planned, o.id, x),
    recipient: planned?.recipient ?? person?.email ?? a.email,
    name: planned?.name ?? person?.name ?? delivered?.name ?? a.email,
    ...(team ? { team } : {}),
    item: o.id,
    version: o.item.sequence,
    due: x.now.toUTC().toISO() as string,
    dueLocal: x.now.setZone(ev.timezone).toISO() as string,
    zone: ev.timezone,
    expires: o.expires.toUTC().toISO() as string,
    method: a.method,
    // `fields` compare with the content last issued: only a holder of that content is told
    // what changed; one who missed an earlier update gets the current version without a list.
    ...(a.method === "REQUEST" && o.fields.length && a.had >= o.prev.contentSequence
      ? { changed: o.fields }
      : {}),
  };
}

/** A known item: its transitions, the sends they issue, and what to remember. */
function reconcileKnown(prev: ItemState, now: ItemNow, x: Inputs, out: Reconciliation): void {
  const v = verdictOf(prev, now);
  const actions = actionsFor(prev, now, v, x);
  const item = nextItemState(prev, now, v, nextSequence(prev, v, actions));
  out.state.items[now.id] = item;
  const change = changeOf(prev, now, v, item.sequence);
  if (change) out.changes.push(change);
  const expires = expiryOf(item, x.now);
  const o = { prev, item, id: now.id, fields: change?.fields ?? [], expires };
  for (const a of actions) {
    const send = issuedSend(a, o, x);
    (a.method === "REQUEST" ? out.updates : out.cancellations).push(send);
    item.recipients[a.email] = {
      ...item.recipients[a.email],
      issued: { step: send.step, version: item.sequence, method: a.method },
    };
  }
}

/**
 * The updates and cancellations due now (see the rules above). `carrier` is the kind that
 * carries calendar items, for an update to a step that is gone and no longer planned.
 */
export function reconcile(
  def: EventDefinition,
  planned: readonly Send[],
  state: CalendarState,
  now: DateTime,
  carrier?: MessageKind,
): Reconciliation {
  const x = inputsOf(def, planned, now, carrier);
  const out: Reconciliation = {
    updates: [],
    cancellations: [],
    firstInvites: [],
    changes: [],
    state: { items: {} },
  };
  const ids = [
    ...new Set([...Object.keys(state.items), ...x.withItem.map((s) => s.item as string)]),
  ].sort();
  for (const id of ids) {
    const prev = state.items[id];
    const current = itemNow(id, x);
    out.firstInvites.push(...firstInvites(id, prev, x));
    if (prev) reconcileKnown(prev, current, x, out);
    else {
      const first = firstSeen(current);
      if (first) out.state.items[id] = first;
    }
  }
  return out;
}

/**
 * For the worker's re-check before sending: an update or cancellation whose version is below
 * the item's current SEQUENCE has been superseded by a newer one and must not go out. (First
 * invites, version 0, are rendered with the current SEQUENCE instead.)
 */
export function isSuperseded(send: Pick<Send, "version">, item: ItemState | undefined): boolean {
  return send.version > 0 && !!item && send.version < item.sequence;
}
