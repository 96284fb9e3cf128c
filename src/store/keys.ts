/**
 * Every Redis key convene writes, in one place. All start with the configured prefix
 * (`CONVENE_PREFIX`, default `convene`) so two deployments, or two test files, can share a Redis.
 * Per-event keys carry the event id; the event id is a slug (lowercase, digits, dashes), so it
 * never contains the `:` separator. A rehearsal runs under a prefix of its own
 * (`<prefix>-rehearsal-<event>`, worker/rehearsal.ts), wiped with deletePrefix before it starts.
 */
export interface Keys {
  /** Hash: send id → compact JSON ledger record (see ledger.ts). One hash per event. */
  ledger(event: string): string;
  /** Hash: send id → due (epoch ms) for sends in state `scheduled`: what the scheduler reconciles. */
  pending(event: string): string;
  /** Hash: team id → ISO instant it registered (recorded with the CLI). */
  registrations(event: string): string;
  /** Hash: field `*` (whole event) or a step id → `paused` | `cancelled`. */
  control(event: string): string;
  /**
   * Hash: calendar item id → JSON {sequence, contentSequence, fingerprint, snapshot, cancelled},
   * written with reconcile's result (calendar-state.ts). The invite lifecycle keeps three hashes
   * per event, so that reconcile, running while the worker records deliveries, never overwrites
   * one; in the other two a field is `<item id>\n<lowercased email>`.
   */
  calendarItems(event: string): string;
  /** Hash: item id \n email → JSON DeliveryRecord, written by the worker once SMTP accepted. */
  calendarDelivered(event: string): string;
  /** Hash: item id \n email → JSON IssuedRecord, written with reconcile's result. */
  calendarIssued(event: string): string;
  /** Set of `<step>@<due epoch ms>`: step occurrences whose "done" line was logged (reports.ts). */
  stepsReported(event: string): string;
  /** Hash: lowercased address → JSON { at, reason }. Global: a dead address is dead for every event. */
  suppressed(): string;
  /**
   * Hash: item id \n lowercased email → JSON RsvpRecord, the invitee's current answer to a
   * calendar item (rsvp.ts). Per event.
   */
  rsvp(event: string): string;
  /** Hash: message key \n item id \n email → JSON of an answer that is not current (stale, non-invitee). */
  rsvpOther(event: string): string;
  /**
   * Hash per mailbox read by `convene inbound` (inbound.ts): `uidvalidity`, `uid` (the
   * high-water mark), and `m:<message key>` → what was done with that message. Global: one
   * mailbox serves every event; `mailbox` is a hash of host, user and folder (no password).
   */
  inboundMailbox(mailbox: string): string;
  /** BullMQ's own prefix: its keys live under `<prefix>:bull:<queue>:…`. */
  bullPrefix(): string;
  /** Hash { n, until }: consecutive SMTP connection failures and the queue-wide wait (smtp-health.ts). */
  smtpBackoff(): string;
  /** JSON of why sending stopped (an SMTP AUTH failure); present while the queue is halted. */
  smtpHalt(): string;
  /** String, epoch ms until which the server asked every worker to slow down (421/450/451). */
  smtpSlowDown(): string;
  /** String "1", gone after 10 s: a rehearsal writes it to learn that this Redis takes writes. */
  writableProbe(): string;
  /** String, JSON { at, durationMs, events }: the last scheduler tick that completed (ticks.ts). */
  schedulerTick(): string;
}

export function keys(prefix: string): Keys {
  return {
    ledger: (event) => `${prefix}:ledger:${event}`,
    pending: (event) => `${prefix}:pending:${event}`,
    registrations: (event) => `${prefix}:reg:${event}`,
    control: (event) => `${prefix}:ctl:${event}`,
    calendarItems: (event) => `${prefix}:calendar:${event}:items`,
    calendarDelivered: (event) => `${prefix}:calendar:${event}:delivered`,
    calendarIssued: (event) => `${prefix}:calendar:${event}:issued`,
    stepsReported: (event) => `${prefix}:reported:${event}`,
    suppressed: () => `${prefix}:suppressed`,
    rsvp: (event) => `${prefix}:rsvp:${event}`,
    rsvpOther: (event) => `${prefix}:rsvp:${event}:other`,
    inboundMailbox: (mailbox) => `${prefix}:inbound:${mailbox}`,
    bullPrefix: () => `${prefix}:bull`,
    smtpBackoff: () => `${prefix}:smtp:backoff`,
    smtpHalt: () => `${prefix}:smtp:halt`,
    smtpSlowDown: () => `${prefix}:smtp:slowdown`,
    writableProbe: () => `${prefix}:writable`,
    schedulerTick: () => `${prefix}:scheduler:tick`,
  };
}
