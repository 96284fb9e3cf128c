/**
 * Every Redis key convene writes, in one place. All start with the configured prefix
 * (`CONVENE_PREFIX`, default `convene`) so two deployments, or two test files, can share a Redis.
 * Per-event keys carry the event id; the event id is a slug (lowercase, digits, dashes), so it
 * never contains the `:` separator. A rehearsal runs under a prefix of its own
 * (`<prefix>-rehearsal-<event>`, worker/rehearsal.ts), wiped with deletePrefix before it starts.
 *
 * Two layouts, chosen by the connection (store/index.ts: a cluster client gets `cluster`):
 *
 * single (one Redis, the default): the names convene has always used, unchanged, e.g.
 *   `convene:ledger:<event>`, `convene:suppressed`, and one BullMQ queue for every event,
 *   `convene:bull:sends:*`. Keeping them is the upgrade path: an existing deployment's ledger is
 *   found where it always was, so nobody is mailed twice after an upgrade, and there is no
 *   migration to run, lock or get wrong (a RENAME per key of a live deployment, racing workers of
 *   the old version, is what keeping the names avoids).
 *
 * cluster (Redis Cluster): a hash tag per event and one for global data. Redis hashes only the
 * text inside the first `{…}` of a key, so keys with the same tag share one slot, and a script or
 * MULTI may touch them together; keys with different tags may live on different masters.
 *   `{<prefix>:<event>}:…` one slot per event. The event's ledger, pending index, registrations,
 *       controls, the three calendar hashes, the reported set, the RSVP answers (rsvp.ts),
 *       AND the event's BullMQ queue
 *       (`{<prefix>:<event>}:bull:sends:*`). They share a slot because they are used together
 *       atomically: ledgerTransition-2.lua moves the ledger record and the pending index in one
 *       step; calendar-state.ts writes items+issued in one MULTI and deletes all three at once;
 *       the scheduler pipelines a job's hash and the queue's failed set with the ledger reads of
 *       the same event; a processor reads a send's ledger record, the controls, the team's
 *       registration, the invite's item and held copy and the RSVP answers in one script
 *       (sendChecks-7.lua). Different events hash to different slots, so a deployment's events
 *       spread over the masters, and a big event's queue and ledger stay together on one.
 *   `{<prefix>}:…` one slot for what is global: suppressions (a dead address is dead for every
 *       event), the SMTP backoff, halt and slow-down every worker honours, the SEND_RATE bucket,
 *       the list of event queues, the writable probe, the last scheduler tick (ticks.ts) and
 *       the inbound mailbox's marks (inbound.ts: one hash per mailbox, which serves every event). Each is read and written with single-key
 *       commands (or a one-key script); the multi-key ones, SmtpHealth.waitingMs (a pipeline)
 *       and SmtpHealth.clearance (smtpClearance-4.lua: halt, slow-down, backoff, SEND_RATE
 *       bucket), touch keys of this same tag only.
 *   Nothing ever combines an event's keys with global ones in one command: a processor sends
 *   its event's checks and the address's suppression side by side (two commands to two slots,
 *   one round trip), and then moves the ledger. On one Redis the same script reads both.
 */
export interface Keys {
  /** Which layout these names follow (see above). */
  readonly cluster: boolean;
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
  /**
   * Hash of `<step>@<due epoch ms>` → the token of the call that claimed it: step occurrences
   * whose "done" line was logged (reports.ts). (`reported` was a set, which could not tell a
   * call sent again from another scheduler's; a new name, so the two never meet.)
   */
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
  /**
   * BullMQ's own prefix: its keys live under `<bullPrefix>:sends:…`. Single layout: one queue for
   * every event (`event` is ignored). Cluster: the event's own queue, under the event's tag.
   */
  bullPrefix(event?: string): string;
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
  /**
   * Cluster only. String: the SEND_RATE bucket's next free send time (ms), shared by every
   * event's queue (send-rate.ts): BullMQ's limiter is per queue, and there is a queue per event.
   */
  sendRate(): string;
  /** Cluster only. Set of event ids that have a queue: how a worker finds every queue to consume. */
  eventQueues(): string;
}

function singleKeys(prefix: string): Keys {
  return {
    cluster: false,
    ledger: (event) => `${prefix}:ledger:${event}`,
    pending: (event) => `${prefix}:pending:${event}`,
    registrations: (event) => `${prefix}:reg:${event}`,
    control: (event) => `${prefix}:ctl:${event}`,
    calendarItems: (event) => `${prefix}:calendar:${event}:items`,
    calendarDelivered: (event) => `${prefix}:calendar:${event}:delivered`,
    calendarIssued: (event) => `${prefix}:calendar:${event}:issued`,
    stepsReported: (event) => `${prefix}:reports:${event}`,
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
    sendRate: () => `${prefix}:smtp:rate`,
    eventQueues: () => `${prefix}:queues`,
  };
}

/** The tag of one event's slot. */
export function eventTag(prefix: string, event: string): string {
  return `{${prefix}:${event}}`;
}

/**
 * Why `prefix` cannot name keys on a cluster, or undefined. convene puts the prefix inside its
 * own hash tags, and Redis hashes only the text up to the first `}` after the first `{`: with a
 * brace in the prefix (`{convene}`, the old way to pin every key to one slot) every event's keys
 * would hash to one slot (no spreading), and a prefix starting `}` would leave an empty tag, so
 * an event's ledger and pending index would hash apart and its transition script fail CROSSSLOT.
 */
export function clusterPrefixProblem(prefix: string): string | undefined {
  if (!/[{}]/.test(prefix)) return undefined;
  return `CONVENE_PREFIX must not contain { or } on a Redis Cluster (it is ${JSON.stringify(prefix)}): convene adds the hash tags itself, {${prefix.replace(/[{}]/g, "")}:<event>} and {${prefix.replace(/[{}]/g, "")}}; set CONVENE_PREFIX=${prefix.replace(/[{}]/g, "") || "convene"}`;
}

function clusterKeys(prefix: string): Keys {
  const problem = clusterPrefixProblem(prefix);
  if (problem) throw new Error(problem);
  const ev = (event: string, rest: string) => `${eventTag(prefix, event)}:${rest}`;
  const global = (rest: string) => `{${prefix}}:${rest}`;
  return {
    cluster: true,
    ledger: (event) => ev(event, "ledger"),
    pending: (event) => ev(event, "pending"),
    registrations: (event) => ev(event, "reg"),
    control: (event) => ev(event, "ctl"),
    calendarItems: (event) => ev(event, "calendar:items"),
    calendarDelivered: (event) => ev(event, "calendar:delivered"),
    calendarIssued: (event) => ev(event, "calendar:issued"),
    stepsReported: (event) => ev(event, "reports"),
    suppressed: () => global("suppressed"),
    rsvp: (event) => ev(event, "rsvp"),
    rsvpOther: (event) => ev(event, "rsvp:other"),
    inboundMailbox: (mailbox) => global(`inbound:${mailbox}`),
    bullPrefix: (event) => {
      if (event === undefined)
        throw new Error("on a Redis Cluster every event has its own queue: name the event");
      return ev(event, "bull");
    },
    smtpBackoff: () => global("smtp:backoff"),
    smtpHalt: () => global("smtp:halt"),
    smtpSlowDown: () => global("smtp:slowdown"),
    writableProbe: () => global("writable"),
    schedulerTick: () => global("scheduler:tick"),
    sendRate: () => global("smtp:rate"),
    eventQueues: () => global("queues"),
  };
}

export function keys(prefix: string, o: { cluster?: boolean } = {}): Keys {
  return o.cluster ? clusterKeys(prefix) : singleKeys(prefix);
}
