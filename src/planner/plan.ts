/**
 * The planner: a pure function from (definitions, registrations, now) to every send, in time
 * order. The scheduler, `convene plan`, the demo and the tests all call this one function, so
 * what an organizer previews is exactly what the worker queues.
 *
 * `now` only decides what is known: registrations recorded after `now` do not exist yet. The
 * planner does not drop sends whose time has passed; deciding late versus missed is the
 * scheduler's job, using each send's `expires`.
 */
import { DateTime } from "luxon";
import { kindOf } from "../kind.js";
import { type CalendarItem, itemsOf } from "../model/items.js";
import type { EventSpec, StepSpec } from "../model/schema.js";
import { durationMillis, parseDuration } from "../model/time.js";
import type { EventDefinition, Recipient, Registration } from "../model/types.js";
import type { RsvpAnswer } from "../types.js";
import { type Send, sendId } from "./send.js";
import { dueTime, intoSendWindow } from "./triggers.js";

/** Without `missedWindow`, a send may go out up to a day late. */
export const DEFAULT_MISSED_WINDOW = "1d";

export type Instant = DateTime | Date | string;

function toInstant(t: Instant): DateTime {
  if (DateTime.isDateTime(t)) return t;
  if (t instanceof Date) return DateTime.fromJSDate(t);
  return DateTime.fromISO(t, { setZone: true });
}

/** The earliest known registration per team, as of `now`. */
export function registrationsKnownAt(
  regs: readonly Registration[],
  now: Instant,
): Map<string, DateTime> {
  const cutoff = toInstant(now).toMillis();
  const out = new Map<string, DateTime>();
  for (const r of regs) {
    const at = DateTime.fromISO(r.registeredAt, { zone: "UTC" });
    if (at.toMillis() > cutoff) continue;
    const prev = out.get(r.team);
    if (!prev || at < prev) out.set(r.team, at);
  }
  return out;
}

function matchesWhere(r: Recipient, where: Record<string, string | string[]>): boolean {
  return Object.entries(where).every(([col, want]) => {
    const have = r.fields[col] ?? (r as unknown as Record<string, unknown>)[col];
    const wanted = Array.isArray(want) ? want : [want];
    return (
      typeof have === "string" &&
      wanted.some((w) => w.trim().toLowerCase() === have.trim().toLowerCase())
    );
  });
}

/** What every step's sends share, computed once per plan. */
interface PlanContext {
  ev: EventDefinition["event"];
  items: ReadonlyMap<string, CalendarItem>;
  registered: ReadonlyMap<string, DateTime>;
  dayIds: readonly string[];
  /** Lowercased email → item → PARTSTAT. */
  rsvps: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

function rsvpIndex(answers: readonly RsvpAnswer[]): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const a of answers) {
    const email = a.email.toLowerCase();
    const m = out.get(email) ?? new Map<string, string>();
    out.set(email, m);
    m.set(a.item, a.partstat.toUpperCase());
  }
  return out;
}

/** Whether a recipient's answers meet a step's `when.rsvp`. */
export function meetsRsvp(
  want: NonNullable<NonNullable<StepSpec["when"]>["rsvp"]>,
  answers: ReadonlyMap<string, string> | undefined,
  items: readonly string[] | undefined,
): boolean {
  const given = [...(answers ?? new Map<string, string>()).entries()]
    .filter(([item]) => !items || items.includes(item))
    .map(([, p]) => p);
  switch (want) {
    case "none":
      return given.length === 0;
    case "answered":
      return given.length > 0;
    case "not-declined":
      return !given.includes("DECLINED");
    default:
      return given.includes(want.toUpperCase());
  }
}

/**
 * The calendar items a step's sends carry, one send each: for a kind that invites, the step's
 * items (else every day) that are dated and not cancelled; for the others a single send with none.
 */
function itemsOfStep(
  def: EventDefinition,
  step: StepSpec,
  c: PlanContext,
): (CalendarItem | undefined)[] {
  if (!kindOf(def, step.kind).invites) return [undefined];
  return (step.items ?? c.dayIds)
    .map((id) => c.items.get(id))
    .filter((i) => i && i.when.type !== "tbd" && i.status !== "cancelled");
}

/** A step's due time in one zone for one registration time, with the strings a send carries. */
interface DueAt {
  due: DateTime;
  zone: string;
  iso: { due: string; dueLocal: string; expires: string };
}

/**
 * The due times of one step, computed once per (zone, registration time) rather than once per
 * recipient: for most steps every recipient shares one, and Luxon's zone arithmetic was most of
 * a tick's and a re-check's planning time (issue 12).
 */
type DueMemo = Map<string, DueAt | undefined>;

function dueAt(
  step: StepSpec,
  c: PlanContext,
  zone: string,
  registeredAt: DateTime | undefined,
  windowMs: number,
): DueAt | undefined {
  let due = dueTime(step.trigger, { event: c.ev, items: c.items, zone, registeredAt });
  if (!due) return undefined;
  if (step.sendWindow) due = intoSendWindow(due, step.sendWindow, zone);
  const iso = {
    due: due.toUTC().toISO() as string,
    dueLocal: due.setZone(zone).toISO() as string,
    expires: due.plus({ milliseconds: windowMs }).toUTC().toISO() as string,
  };
  return { due, zone, iso };
}

/** When a recipient's send of a step is due, or undefined when the step does not reach them. */
function dueFor(
  step: StepSpec,
  r: Recipient,
  c: PlanContext,
  memo: { times: DueMemo; windowMs: number },
): DueAt | undefined {
  if (step.when?.where && !matchesWhere(r, step.when.where)) return undefined;
  if (
    step.when?.rsvp &&
    !meetsRsvp(step.when.rsvp, c.rsvps.get(r.email.toLowerCase()), step.when.rsvpItems)
  )
    return undefined;
  const zone = step.trigger.zone === "recipient" && r.timezone ? r.timezone : c.ev.timezone;
  const registeredAt = r.team ? c.registered.get(r.team) : undefined;
  const key = `${zone}\n${registeredAt?.toMillis() ?? ""}`;
  if (!memo.times.has(key)) memo.times.set(key, dueAt(step, c, zone, registeredAt, memo.windowMs));
  const at = memo.times.get(key);
  if (!at) return undefined;
  if (step.when?.registered !== undefined) {
    const isRegistered = registeredAt !== undefined && registeredAt <= at.due;
    if (isRegistered !== step.when.registered) return undefined;
  }
  return at;
}

function windowMillis(step: StepSpec): number {
  const window = parseDuration(step.missedWindow ?? DEFAULT_MISSED_WINDOW);
  return window ? durationMillis(window) : 86_400_000;
}

const dueMemos = new WeakMap<EventSpec, WeakMap<StepSpec, DueMemo>>();

/**
 * A step's due times, kept with the loaded definition rather than one plan call: a processor
 * re-plans each send it is about to make (replanOne), a plan of one recipient, so a memo per
 * call computed every send's due time with Luxon again (issue 12). Keyed by the event object
 * too: a definition spread with a changed event (an edit) keeps its step objects.
 */
function dueMemoOf(ev: EventSpec, step: StepSpec): DueMemo {
  return stepMemo(dueMemos, ev, step);
}

/** The Map kept for (event object, step object) in `memos`, made on first use. */
function stepMemo<V>(
  memos: WeakMap<EventSpec, WeakMap<StepSpec, Map<string, V>>>,
  ev: EventSpec,
  step: StepSpec,
): Map<string, V> {
  let byStep = memos.get(ev);
  if (!byStep) {
    byStep = new WeakMap();
    memos.set(ev, byStep);
  }
  let memo = byStep.get(step);
  if (!memo) {
    memo = new Map();
    byStep.set(step, memo);
  }
  return memo;
}

const sendMemos = new WeakMap<EventSpec, WeakMap<StepSpec, Map<string, Send>>>();

/**
 * A step's sends, kept like its due times: a send is the same object from one plan to the next
 * while what it says is the same. A plan of 100,000 sends spent a fifth of its time hashing ids
 * it had made the tick before, and every full tick made 100,000 new objects while the last
 * plan's were still held, which at that size was a 45 MB peak of RSS (issue 12). Sends are
 * never changed once made, so sharing them is safe.
 */
function sendOf(
  c: PlanContext,
  step: StepSpec,
  r: Recipient,
  item: string | undefined,
  at: DueAt,
): Send {
  const sends = stepMemo(sendMemos, c.ev, step);
  const key = item === undefined ? r.email : `${r.email}\n${item}`;
  const kept = sends.get(key);
  if (kept && saysTheSame(kept, r, at)) return kept;
  // Every property in the literal, an absent team or item as undefined (which JSON leaves out
  // as it did the missing key): V8 keeps a literal's properties in the object itself, and gave
  // each property a spread added a separate array, 40 bytes a send.
  const send: Send = {
    id: kept?.id ?? sendId({ event: c.ev.id, step: step.id, recipient: r.email, item, version: 0 }),
    event: c.ev.id,
    step: step.id,
    kind: step.kind,
    recipient: r.email,
    name: r.name,
    team: r.team || undefined,
    item,
    version: 0,
    due: at.iso.due,
    dueLocal: at.iso.dueLocal,
    expires: at.iso.expires,
    zone: at.zone,
  };
  sends.set(key, send);
  return send;
}

/** Whether a kept send of the same step, recipient and item still says what a new one would. */
function saysTheSame(s: Send, r: Recipient, at: DueAt): boolean {
  return (
    s.name === r.name &&
    s.team === (r.team || undefined) &&
    s.due === at.iso.due &&
    s.dueLocal === at.iso.dueLocal &&
    s.expires === at.iso.expires &&
    s.zone === at.zone
  );
}

function stepSends(def: EventDefinition, step: StepSpec, c: PlanContext): Send[] {
  const memo = { times: dueMemoOf(c.ev, step), windowMs: windowMillis(step) };
  const stepItems = itemsOfStep(def, step, c);
  const sends: Send[] = [];
  for (const r of def.audiences[step.audience] ?? []) {
    const at = dueFor(step, r, c, memo);
    if (!at) continue;
    for (const item of stepItems) sends.push(sendOf(c, step, r, item?.id, at));
  }
  return sends;
}

/** Time order; at one instant, campaign order of the steps, then recipient, then item. */
function byDue(a: Send, aStep: number, b: Send, bStep: number): number {
  return (
    (a.due === b.due ? 0 : a.due.localeCompare(b.due)) ||
    aStep - bStep ||
    a.recipient.localeCompare(b.recipient) ||
    (a.item ?? "").localeCompare(b.item ?? "")
  );
}

/**
 * The sends of every step in time order. Positions are sorted, not the sends: a send carrying
 * its step's position, to be copied without it after the sort, made every send twice.
 */
function inTimeOrder(perStep: readonly Send[][]): Send[] {
  const sends = perStep.flat();
  const stepOf = new Int32Array(sends.length);
  let at = 0;
  perStep.forEach((xs, step) => {
    stepOf.fill(step, at, at + xs.length);
    at += xs.length;
  });
  const order = Array.from(sends.keys());
  order.sort((i, j) =>
    byDue(sends[i] as Send, stepOf[i] as number, sends[j] as Send, stepOf[j] as number),
  );
  return order.map((i) => sends[i] as Send);
}

const byIdCache = new WeakMap<EventSpec, ReadonlyMap<string, CalendarItem>>();

/**
 * The event's items by id, once per loaded definition: a processor re-plans each send it is
 * about to make (replanOne), and building the items with Luxon took about 30 % of a letter's
 * CPU when it was done per send (issue 12).
 */
function itemsById(ev: EventSpec): ReadonlyMap<string, CalendarItem> {
  let m = byIdCache.get(ev);
  if (!m) {
    m = new Map(itemsOf(ev).map((i) => [i.id, i]));
    byIdCache.set(ev, m);
  }
  return m;
}

export function plan(
  def: EventDefinition,
  registrations: readonly Registration[],
  now: Instant,
  /** Invitees' calendar answers, for `when: { rsvp }` steps (runtime state, like registrations). */
  rsvps: readonly RsvpAnswer[] = [],
): Send[] {
  const ev = def.event;
  const c: PlanContext = {
    ev,
    items: itemsById(ev),
    registered: registrationsKnownAt(registrations, now),
    dayIds: ev.days.map((d) => d.id ?? `day-${d.date}`),
    rsvps: rsvpIndex(rsvps),
  };
  return inTimeOrder(def.campaign.steps.map((step) => stepSends(def, step, c)));
}
