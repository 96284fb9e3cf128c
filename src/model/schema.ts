/**
 * The definition format organizers write: `event.yaml` and `campaign.yaml`. Every object is
 * strict: an unknown key is an error, because a typo (`dedline:`) that is silently ignored would
 * change who gets mailed and when. Strings that can reach a mail header (names, addresses,
 * subjects, titles) are single-line: a CR or LF there is header injection.
 */
import { z } from "zod";
import { isValidDate, isValidZone, LOCAL_DATETIME_RE, parseDuration, TIME_RE } from "./time.js";

/**
 * A message kind's name. The kinds are not listed here: each is a file in jobs/, and loadEvent
 * checks a step's kind against that registry, so adding a kind changes no schema.
 */
export type { MessageKind } from "../types.js";

export const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, "must be lowercase letters, digits and dashes (like `day-2`)");

/**
 * Longest value that may reach a header (subjects, names, titles, rooms). RFC 5322 allows 998
 * octets a line; 300 characters stay under it even when every one needs RFC 2047 encoding, and
 * no real subject or name comes close.
 */
export const MAX_LINE_LENGTH = 300;

/** URLs go to bodies and calendars, not headers, and tracking parameters make them long. */
export const MAX_URL_LENGTH = 2000;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function codePoint(c: string): string {
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * Why a value cannot go into a mail header, or undefined. A line break forges headers; NUL and
 * other control characters are cut or rewritten differently by each server on the way, so the
 * value delivered is not the one validated.
 */
export function headerValueProblem(s: string, max = MAX_LINE_LENGTH): string | undefined {
  if (/[\r\n]/.test(s)) return "must be a single line: a line break here could forge mail headers";
  const control = CONTROL_RE.exec(s);
  if (control) return `must not contain control characters (found ${codePoint(control[0])})`;
  if (s.length > max)
    return `must be at most ${max} characters (it has ${s.length}): mail headers are limited to 998 bytes a line`;
  return undefined;
}

function refuseWith(check: (s: string) => string | undefined) {
  return (s: string, ctx: z.RefinementCtx) => {
    const message = check(s);
    if (message) ctx.addIssue({ code: "custom", message });
  };
}

/** Text that may end up in a header. */
export const line = z
  .string()
  .min(1, "must not be empty")
  .superRefine(refuseWith((s) => headerValueProblem(s)));

/** Free text for bodies and descriptions; line breaks allowed, NUL never is. */
export const text = z
  .string()
  .refine((s) => !s.includes("\u0000"), "must not contain NUL characters");

/**
 * Addresses use zod's own e-mail check (the common dot-atom form: letters, digits and
 * `_ ' + - .` before the @), after the checks below that say specifically what is wrong.
 */
const zodEmail = z.email();

/**
 * Why an address is refused, or undefined. Quoted local parts (`"a b"@x`) are legal but let
 * spaces, @ and control characters through, and receiving servers disagree on them; non-ASCII
 * needs SMTPUTF8 (RFC 6531), which convene does not assume the relay offers.
 */
export function emailProblem(s: string): string | undefined {
  const header = headerValueProblem(s, 254);
  if (header) return header;
  if (s.startsWith('"')) return 'quoted local parts ("..."@) are not accepted';
  if (/\s/.test(s)) return "must not contain spaces";
  const at = s.lastIndexOf("@");
  const local = at > 0 ? s.slice(0, at) : s;
  const domain = at > 0 ? s.slice(at + 1) : "";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII is the range tested
  if (/[^\u0000-\u007f]/.test(local))
    return "has non-ASCII characters before the @: that needs SMTPUTF8, which convene does not assume your mail server supports";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII is the range tested
  if (/[^\u0000-\u007f]/.test(domain))
    return "has a non-ASCII domain: write it in its ASCII (xn--) form";
  if (local.length > 64) return "has more than 64 characters before the @ (RFC 5321)";
  if (!zodEmail.safeParse(s).success) return "is not a valid e-mail address";
  return undefined;
}

export const email = z.string().superRefine(refuseWith(emailProblem));
export function isEmail(s: string): boolean {
  return emailProblem(s) === undefined;
}

/** A host name for Message-IDs and UIDs (`<id@domain>`), so only letters, digits, dots, dashes. */
export const domain = z
  .string()
  .max(253, "must be at most 253 characters")
  .regex(
    /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
    "must be a domain name like cdefoundation.org",
  );

export const url = z
  .string()
  .superRefine(
    refuseWith(
      (s) =>
        headerValueProblem(s, MAX_URL_LENGTH) ??
        (/^https?:\/\/[^\s]+$/.test(s) ? undefined : "must be an http(s) URL"),
    ),
  );
export const date = z.string().refine(isValidDate, "must be a date like 2017-05-26");
export const time = z
  .string()
  .refine((s) => TIME_RE.test(s), "must be a 24-hour time like 09:00 or 14:30");
/** A single refinement rather than a union, so the error message stays specific. */
export const dateOrTbd = z
  .string()
  .refine((s) => s === "TBD" || isValidDate(s), "must be a date like 2017-06-19, or TBD");
export const zone = z
  .string()
  .refine(isValidZone, "is not an IANA time zone (like America/Los_Angeles)");
export const duration = z
  .string()
  .refine((s) => parseDuration(s) !== null, "must be a duration like 7d, 36h, 1d12h or P2D");
export const localDateTime = z
  .string()
  .refine(
    (s) => LOCAL_DATETIME_RE.test(s) && isValidDate(s.slice(0, 10)),
    "must be a local date and time like 2017-05-15 09:00",
  );
export const status = z.enum(["confirmed", "tentative", "cancelled"]);

export const speaker = z.union([
  line,
  z.strictObject({ name: line, affiliation: line.optional(), url: url.optional() }),
]);

export const place = z.strictObject({
  name: line,
  address: line.optional(),
});

export const track = z.strictObject({
  id: id.optional(),
  title: line,
  room: line,
  speakers: z.array(speaker).optional(),
  description: text.optional(),
});

export const session = z.strictObject({
  /** Stable identity of the session; defaults to a slug of the title. Keep it when the title changes. */
  id: id.optional(),
  start: time,
  /** Defaults to the next session's start, or the day's end. */
  end: time.optional(),
  title: line,
  description: text.optional(),
  speakers: z.array(speaker).optional(),
  /** Defaults to the day's room. */
  room: line.optional(),
  /** Parallel tracks (breakouts), each in its own room. */
  tracks: z.array(track).optional(),
  status: status.optional(),
});

export const day = z.strictObject({
  /** Defaults to `day-<date>`. */
  id: id.optional(),
  date,
  label: line.optional(),
  title: line.optional(),
  description: text.optional(),
  /** Without start and end the day is an all-day item. */
  start: time.optional(),
  end: time.optional(),
  room: line.optional(),
  /** Who the day is for, when it is not everyone (e.g. teams new to the initiative). */
  audience: text.optional(),
  sessions: z.array(session).optional(),
  status: status.optional(),
});

export const seriesSession = z.strictObject({
  number: z.number().int().positive(),
  title: line,
  days: z.number().int().positive().optional(),
  description: text.optional(),
});

export const cohortSession = z.strictObject({
  session: z.number().int().positive(),
  /** `TBD` until the date is known; a TBD session produces no sends and no calendar item. */
  date: dateOrTbd,
  endDate: date.optional(),
  start: time.optional(),
  end: time.optional(),
  location: place.optional(),
  status: status.optional(),
});

export const cohort = z.strictObject({
  id,
  name: line,
  /** Where every session is held, unless a session names its own location. */
  location: place.optional(),
  /**
   * The zone its sessions' times are written in, when the cohort meets elsewhere (a Tokyo
   * cohort's "10:00" is 10:00 in Tokyo); defaults to the event's.
   */
  timezone: zone.optional(),
  sessions: z.array(cohortSession),
});

export const series = z.strictObject({
  id,
  title: line,
  subtitle: line.optional(),
  description: text.optional(),
  audience: text.optional(),
  partners: text.optional(),
  cost: line.optional(),
  registrationUrl: url.optional(),
  flyerUrl: url.optional(),
  sessions: z.array(seriesSession),
  cohorts: z.array(cohort),
});

export const related = z.strictObject({
  id,
  title: line,
  kind: z.enum(["conference", "institute", "course", "training", "other"]).optional(),
  theme: line.optional(),
  hosts: line.optional(),
  description: text.optional(),
  /** `TBD` (or absent) when the dates are not known yet. */
  startDate: dateOrTbd.optional(),
  endDate: date.optional(),
  start: time.optional(),
  end: time.optional(),
  venue: place.optional(),
  cost: text.optional(),
  note: text.optional(),
  contact: z.strictObject({ name: line.optional(), email }).optional(),
  url: url.optional(),
});

export const audience = z.strictObject({
  /** CSV path relative to the event directory. */
  file: line,
  description: text.optional(),
});

export const event = z.strictObject({
  id,
  title: line,
  shortTitle: line.optional(),
  theme: text.optional(),
  description: text.optional(),
  timezone: zone,
  organizer: z.strictObject({
    name: line,
    email,
    /** Used in UIDs and Message-IDs; defaults to the domain of `email`. */
    domain: domain.optional(),
    address: text.optional(),
    website: url.optional(),
  }),
  contact: z.strictObject({ name: line, email, phone: line.optional() }),
  signatory: z.strictObject({ name: line, title: line, initials: line.optional() }).optional(),
  venue: z.strictObject({
    name: line,
    address: line.optional(),
    rooms: z.array(line).optional(),
  }),
  links: z.record(id, url).optional(),
  hashtags: z.array(z.string().regex(/^#\w+$/, "must look like #CA_LMI")).optional(),
  speakers: z.array(speaker).optional(),
  coalition: z.array(line).optional(),
  registration: z.strictObject({
    /** The last day to register; the deadline is the end of that day in the event's zone. */
    deadline: date,
    terms: text.optional(),
    url: url.optional(),
  }),
  days: z.array(day).min(1, "an event needs at least one day"),
  series: z.array(series).optional(),
  related: z.array(related).optional(),
  audiences: z.record(id, audience),
  registrations: z.strictObject({ file: line }).optional(),
});

export const ANCHORS = [
  "registration-deadline",
  "event-start",
  "event-end",
  "registration",
] as const;

export const trigger = z.strictObject({
  /** An absolute local time, e.g. `2017-05-15 09:00`. */
  at: localDateTime.optional(),
  /** Or an anchor: registration-deadline, event-start, event-end, registration, or item:<calendar item id>. */
  anchor: z
    .string()
    .refine(
      (s) => (ANCHORS as readonly string[]).includes(s) || /^item:[a-z0-9][a-z0-9-]*$/.test(s),
      `must be one of ${ANCHORS.join(", ")} or item:<calendar item id>`,
    )
    .optional(),
  /** Signed: `-7d` is seven days before the anchor. */
  offset: duration.optional(),
  /** Fixes the local time of day; the offset's days then count from the anchor's local date. */
  time: time.optional(),
  /** Whose local time `at`/`time` mean: the event's (default) or each recipient's own zone. */
  zone: z.enum(["event", "recipient"]).optional(),
});

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export const sendWindow = z.strictObject({
  days: z.array(z.enum(WEEKDAYS)).min(1).optional(),
  start: time,
  end: time,
});

export const step = z.strictObject({
  id,
  kind: id,
  audience: id,
  /** Template name in the event's or convene's `templates/`; defaults to the kind. */
  template: id.optional(),
  subject: line.optional(),
  trigger,
  when: z
    .strictObject({
      /** Only recipients whose team has (true) or has not (false) registered by the due time. */
      registered: z.boolean().optional(),
      /**
       * Only recipients whose calendar answers (RSVPs read by `convene inbound`) are: `none` (no
       * answer to any item), `answered`, `accepted` / `declined` / `tentative` (that answer to
       * at least one item), or `not-declined` (declined none). Over `rsvpItems`, else every item.
       */
      rsvp: z
        .enum(["none", "answered", "accepted", "declined", "tentative", "not-declined"])
        .optional(),
      /** The calendar items `rsvp` looks at (default: all of the event's). */
      rsvpItems: z.array(id).optional(),
      /** Only recipients whose CSV columns have these values. */
      where: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
    })
    .optional(),
  /** How late a send may still go out after its due time; later it is recorded as missed. */
  missedWindow: duration.optional(),
  sendWindow: sendWindow.optional(),
  /** Calendar items (for calendar-invite) or the related event / series a message is about. */
  items: z.array(id).optional(),
  about: id.optional(),
  attachments: z.array(line).optional(),
  /** Extra text for the template, by name. */
  values: z.record(z.string(), text).optional(),
});

export const campaign = z.strictObject({
  steps: z.array(step).min(1, "a campaign needs at least one step"),
});

export type EventSpec = z.infer<typeof event>;
export type CampaignSpec = z.infer<typeof campaign>;
export type StepSpec = z.infer<typeof step>;
export type DaySpec = z.infer<typeof day>;
export type SessionSpec = z.infer<typeof session>;
export type TrackSpec = z.infer<typeof track>;
export type SeriesSpec = z.infer<typeof series>;
export type RelatedSpec = z.infer<typeof related>;
export type Speaker = z.infer<typeof speaker>;
export type Place = z.infer<typeof place>;
export type Status = z.infer<typeof status>;
export type TriggerSpec = z.infer<typeof trigger>;
export type SendWindowSpec = z.infer<typeof sendWindow>;
