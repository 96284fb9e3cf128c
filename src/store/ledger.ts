/**
 * The delivery ledger: what happened to every send, in Redis. It — not BullMQ — is the dedupe
 * authority: BullMQ only remembers a job id while the job exists, the ledger remembers forever.
 *
 * Layout: one hash per event (`<prefix>:ledger:<event>`), field = send id, value = a compact JSON
 * record with one-letter keys. One hash per event rather than one key per send keeps the
 * per-send overhead to a hash entry (~40 bytes) instead of a whole Redis key (~100+ bytes).
 *
 * States and who moves them:
 *   (none) ──scheduler──► scheduled ──processor claim──► sending ──► sent
 *                           │  ▲                          │ └──► failed (5xx, or retries exhausted)
 *                           │  └──── transient error ─────┘
 *                           ├──► skipped (registered, cancelled, no longer planned, …)
 *                           │      └─ "unplanned" (removed from the audience or campaign): it
 *                           │         comes back to scheduled (or is claimed) if it is planned
 *                           │         again before it expires. A removal is final only then.
 *                           ├──► suppressed (address on the suppression list)
 *                           └──► missed (past the step's missed window)
 *   sent ──convene inbound, a hard bounce (DSN, Action: failed, 5.x.x)──► bounced (final). A
 *   soft bounce (4.x.x, delayed) stays sent with the DSN noted on the record (`dsn`).
 *   sending found by a later attempt (a crash, a stall, a forced shutdown), or an SMTP timeout /
 *   lost connection after the message may have been handed over ──► unconfirmed ──► (claimed
 *   again) sending ──► sent. Each such move counts `unconfirmed` on the record, which is never
 *   cleared: a send that ends `sent` with it may have been delivered twice, and status says so.
 *
 * Every move is a compare-and-set in a Lua script (scripts/ledgerTransition-2.lua): it only
 * happens if the current state is one of the allowed `from` states. That is what makes
 * "scheduled → sending" a claim only one worker process can win, so several workers never send
 * the same message twice.
 */

import type { MessageKind } from "../model/schema.js";
import type { LedgerState } from "../types.js";
import { callToken } from "./call-token.js";
import type { Keys } from "./keys.js";
import type { Redis } from "./redis.js";
import { defineScripts } from "./scripts.js";

export { LEDGER_STATES as STATES } from "../types.js";
export type State = LedgerState;
/** `none`: not in the ledger yet. */
export type StateOrNone = State | "none";
/**
 * What a compare-and-set matches on: the state, except that a `skipped` send whose skip is
 * only "no longer planned" matches as `unplanned` (and not as `skipped`), so it can be planned
 * again while an ordinary skip stays final.
 */
export type FromState = StateOrNone | "unplanned";

/**
 * Final states: the send is decided and must never be queued or sent again. `unconfirmed` is not
 * one: a crash never loses a send, so an unconfirmed send is sent again (and marked). Nor is an
 * unplanned skip (see isFinal).
 */
export const FINAL: ReadonlySet<StateOrNone> = new Set([
  "sent",
  "failed",
  "skipped",
  "suppressed",
  "missed",
  "bounced",
]);

/** Whether a record is decided for good: a final state, and not an unplanned skip. */
export function isFinal(rec: RecordState | undefined): boolean {
  return !!rec && FINAL.has(rec.state) && !rec.unplanned;
}

/**
 * What a tick keeps of a record once it has decided on its send: enough to tell whether the
 * send is final and when it last changed. A full tick keeps one per candidate until its end
 * (the step report, the next due time), and a whole record, its SMTP reply and Message-ID
 * included, was 300 bytes: 30 MB of a 100,000-send tick (issue 12).
 */
export type RecordState = Pick<LedgerRecord, "state" | "unplanned" | "at">;

export function stateOf(rec: LedgerRecord): RecordState {
  return rec.unplanned
    ? { state: rec.state, unplanned: true, at: rec.at }
    : { state: rec.state, at: rec.at };
}

/** The state a compare-and-set sees for a record. */
export function matchState(rec: LedgerRecord | undefined): FromState {
  if (!rec) return "none";
  return rec.state === "skipped" && rec.unplanned ? "unplanned" : rec.state;
}

export interface LedgerRecord {
  state: State;
  /**
   * A `skipped` send that was only no longer planned (recipient or step removed, the definition
   * changed): planned again before it expires, it is queued again.
   */
  unplanned?: true;
  /** SMTP attempts made (claims). */
  attempts: number;
  recipient: string;
  /** Epoch ms: first written / last state change. */
  firstAt: number;
  at: number;
  /** Epoch ms the send was scheduled for (while scheduled). */
  due?: number;
  /** The SMTP reply (sent, failed) or the last error (retries). */
  response?: string;
  messageId?: string;
  /** Why it was skipped / missed / failed, in words an organizer reads. */
  reason?: string;
  /**
   * How many attempts ended without knowing whether SMTP accepted the message (found `sending`
   * later, or a timeout / lost connection after the message may have been handed over). Kept
   * whatever the state becomes: above 0, the recipient may have received it more than once.
   */
  unconfirmed?: number;
  /**
   * Set while a kind's after-send step (a calendar invite's delivery record) has not completed:
   * the calendar SEQUENCE that was sent (0 when not a calendar message). A retry finding the
   * send `sent` with this set runs that step again.
   */
  afterSentPending?: number;
  /**
   * What the last delivery status notification said ("failed 5.1.1 smtp; 550 5.1.1 no such
   * user"), written by `convene inbound`; on a `bounced` send it is the diagnostic.
   */
  dsn?: string;
  /** The message kind, so a send whose step was deleted is still reported as what it was. */
  kind?: MessageKind;
}

/** The stored shape: one-letter keys because there can be 100,000 of these per event. */
interface Stored {
  s: State;
  n?: number;
  e?: string;
  q?: number;
  t?: number;
  d?: number;
  r?: string;
  m?: string;
  w?: string;
  u?: number;
  p?: number;
  k?: MessageKind;
  x?: 1;
  b?: string;
  /** The token of the move that last changed the record (see Ledger.moves). */
  c?: string;
}

export interface Patch {
  state: State;
  recipient?: string;
  kind?: MessageKind;
  due?: number | null;
  response?: string | null;
  messageId?: string | null;
  reason?: string | null;
  /** Count this move as an SMTP attempt. */
  attempt?: boolean;
  /** Count this move as an attempt whose SMTP acceptance is unknown (the unconfirmed marker). */
  unconfirmed?: boolean;
  afterSentPending?: number | null;
  dsn?: string | null;
  /** Only with `skipped`: a re-plannable skip (see LedgerRecord.unplanned). Any other move clears it. */
  unplanned?: boolean;
}

export interface TransitionResult {
  ok: boolean;
  /**
   * The state before the call (the blocking state when !ok). A call Redis ran twice (see
   * Ledger.moves) answers its second run with the state it finds, the one it moved to.
   */
  from: FromState;
}

/** SMTP replies can be long (multi-line); the ledger keeps what explains the outcome. */
const MAX_TEXT = 300;
function clip(s: string | null | undefined): string | null | undefined {
  if (s === null || s === undefined) return s;
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > MAX_TEXT ? `${one.slice(0, MAX_TEXT - 1)}…` : one;
}

/** The stored patch of one move, with its token (see Ledger.moves). */
function toPatch(p: Patch, token: string): Record<string, unknown> {
  const out: Record<string, unknown> = { s: p.state, c: token };
  const set = (k: string, v: unknown) => {
    // cjson has no undefined; `false` marks "delete this field" in ledgerTransition-2.lua.
    if (v === null) out[k] = false;
    else if (v !== undefined) out[k] = v;
  };
  set("e", p.recipient);
  set("k", p.kind);
  set("d", p.due);
  set("r", clip(p.response));
  set("m", p.messageId);
  set("w", clip(p.reason));
  set("p", p.afterSentPending);
  set("b", clip(p.dsn));
  if (p.unplanned && p.state === "skipped") out.x = 1;
  return out;
}

export function decode(json: string): LedgerRecord {
  const r = JSON.parse(json) as Stored;
  const out: LedgerRecord = {
    state: r.s,
    attempts: r.n ?? 0,
    recipient: r.e ?? "",
    firstAt: r.q ?? r.t ?? 0,
    at: r.t ?? 0,
  };
  // Assigned one by one, not spread from `cond ? {…} : {}`: a full tick decodes 100,000
  // records, and each spread was an object made only to be copied.
  if (r.d !== undefined) out.due = r.d;
  if (r.r !== undefined) out.response = r.r;
  if (r.m !== undefined) out.messageId = r.m;
  if (r.w !== undefined) out.reason = r.w;
  if (r.u) out.unconfirmed = r.u;
  if (r.p !== undefined) out.afterSentPending = r.p;
  if (r.k) out.kind = r.k;
  if (r.b !== undefined) out.dsn = r.b;
  if (r.x) out.unplanned = true;
  return out;
}

export interface TransitionRequest {
  id: string;
  from: readonly FromState[];
  patch: Patch;
}

/** The states a processor may claim a send from. */
export const CLAIMABLE: readonly FromState[] = ["none", "scheduled", "unconfirmed", "unplanned"];

/** Moves per ledgerTransition call: about 10 ms of Redis each. */
const TRANSITION_CHUNK = 500;

/** How long a cluster claim waits for a replica's acknowledgement (see claimReplicated). */
const REPLICA_WAIT_MS = 100;
/** How long an event's claims stop waiting after no replica acknowledged. */
const NO_REPLICA_MS = 10_000;

export class Ledger {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly clock: () => number = Date.now,
  ) {
    defineScripts(redis);
  }

  /** ledgerTransition-2.lua's four arguments for one move, with its token. */
  private moveArgs(r: TransitionRequest, token: string): string[] {
    return [
      r.id,
      `|${r.from.join("|")}|`,
      JSON.stringify(toPatch(r.patch, token)),
      `${r.patch.attempt ? "a" : ""}${r.patch.unconfirmed ? "u" : ""}-`,
    ];
  }

  /** Moves one send to `patch.state` if it is currently in one of `from`. */
  async transition(
    event: string,
    id: string,
    from: readonly FromState[],
    patch: Patch,
  ): Promise<TransitionResult> {
    const [result] = await this.moves(event, [{ id, from, patch }]);
    return result as TransitionResult;
  }

  /**
   * Many transitions, a chunk per script call (the scheduler moves thousands per tick): each
   * is a compare-and-set of its own, as if made alone, and Redis serves other clients between
   * chunks.
   */
  async transitionMany(
    event: string,
    reqs: readonly TransitionRequest[],
  ): Promise<TransitionResult[]> {
    // Every chunk is sent before the first reply is awaited (one connection, so in order):
    // Redis runs one while the next is written.
    const chunks: Promise<TransitionResult[]>[] = [];
    for (let i = 0; i < reqs.length; i += TRANSITION_CHUNK)
      chunks.push(this.moves(event, reqs.slice(i, i + TRANSITION_CHUNK)));
    return (await Promise.all(chunks)).flat();
  }

  /**
   * One script call, each move with a token new for the call and its place in it. When Redis
   * ran the call but the connection dropped before its reply (Redis killed, the network cut),
   * ioredis sends the call again once reconnected, and Redis runs it a second time. Without
   * the token that run found its own moves made and answered "blocked": a claim made its
   * attempt a no-op and left the send `sending` with no job, a tick's batch queued no jobs for
   * its sends, and both waited for a full tick, minutes later (the claim then marked
   * unconfirmed although nothing had gone out). The token lets the script know its own move
   * and answer as the first run did.
   */
  private async moves(
    event: string,
    reqs: readonly TransitionRequest[],
  ): Promise<TransitionResult[]> {
    // The place keeps two moves of one send in a call apart: the second must see the first.
    const call = callToken();
    const res = await this.redis.ledgerTransition(
      this.keys.ledger(event),
      this.keys.pending(event),
      String(this.clock()),
      ...reqs.flatMap((r, i) => this.moveArgs(r, `${call}${i.toString(36)}`)),
    );
    return reqs.map((_, j) => ({ ok: res[2 * j] === 1, from: res[2 * j + 1] as FromState }));
  }

  /**
   * scheduled, unconfirmed (to be sent again), unplanned (planned again) or not yet recorded →
   * sending, counting an attempt. Only one caller can win; the loser must leave the state alone
   * (it may be a live `sending`).
   */
  claim(event: string, id: string, recipient: string): Promise<TransitionResult> {
    const patch: Patch = { state: "sending", recipient, attempt: true };
    if (!this.keys.cluster) return this.transition(event, id, CLAIMABLE, patch);
    return this.claimReplicated(event, { id, from: CLAIMABLE, patch });
  }

  /** Per event: until when WAIT is skipped, after it found no replica to acknowledge. */
  private readonly noReplicaUntil = new Map<string, number>();

  /**
   * On a cluster a master that dies loses what it had not yet passed to its replica, and the
   * replica takes over. A lost `sending` would bring the send back as `scheduled`, and a resend
   * would then be an unmarked duplicate. So the claim waits (WAIT, on the master that took the
   * claim) until a replica has it, before SMTP is called: after a failover the send is
   * `sending`, its retry marks it unconfirmed. Bounded: without an acknowledging replica (it is
   * down, or was promoted and has none yet) the claim goes ahead after REPLICA_WAIT_MS, and the
   * event skips WAIT for a while rather than paying that on every send.
   *
   * The claim is a command of its own, so that ioredis follows MOVED/ASK for it: in one
   * pipeline with WAIT (a keyless write, which the cluster client never redirects), a claim
   * sent to a master that no longer serves the slot (a resharding, a slot map not yet
   * refreshed after a failover) came back as a MOVED error and failed the job attempt.
   */
  private async claimReplicated(event: string, r: TransitionRequest): Promise<TransitionResult> {
    const waits = (this.noReplicaUntil.get(event) ?? 0) <= Date.now();
    const result = await this.transition(event, r.id, r.from, r.patch);
    if (!waits || !result.ok) return result;
    const acks = await this.replicaAcks(event);
    if (acks !== undefined && acks < 1) this.noReplicaUntil.set(event, Date.now() + NO_REPLICA_MS);
    return result;
  }

  /**
   * WAIT on the connection of the master serving the event's slot: pipelined behind a one-key
   * read of that slot, which is what routes a pipeline on a cluster. Undefined when that read was
   * redirected (the slot moved since the claim): the WAIT then asked another master, and says
   * nothing about the claim.
   */
  private async replicaAcks(event: string): Promise<number | undefined> {
    const res =
      (await this.redis
        .pipeline()
        .exists(this.keys.ledger(event))
        .wait(1, REPLICA_WAIT_MS)
        .exec()) ?? [];
    const [routeErr] = res[0] ?? [new Error("no reply")];
    const [waitErr, acks] = res[1] ?? [new Error("no reply"), null];
    return routeErr || waitErr ? undefined : Number(acks);
  }

  /**
   * A hard bounce: sent → bounced with the diagnostic. Returns whether this call moved it; a
   * second call (the same DSN read again) finds it bounced and changes nothing.
   */
  async bounce(event: string, id: string, diagnostic: string): Promise<TransitionResult> {
    return this.transition(event, id, ["sent"], {
      state: "bounced",
      dsn: diagnostic,
      reason: `bounced: ${diagnostic}`,
    });
  }

  /** A soft bounce (delayed, 4.x.x): noted on the sent record, which stays sent. */
  async noteDsn(event: string, id: string, note: string): Promise<TransitionResult> {
    const rec = await this.get(event, id);
    if (rec?.dsn === clip(note)) return { ok: false, from: matchState(rec) };
    return this.transition(event, id, ["sent"], { state: "sent", dsn: note });
  }

  async get(event: string, id: string): Promise<LedgerRecord | undefined> {
    const v = await this.redis.hget(this.keys.ledger(event), id);
    return v ? decode(v) : undefined;
  }

  async getMany(event: string, ids: readonly string[]): Promise<Map<string, LedgerRecord>> {
    const out = new Map<string, LedgerRecord>();
    for (let i = 0; i < ids.length; i += 2000) {
      const chunk = ids.slice(i, i + 2000);
      if (!chunk.length) continue;
      const vals = await this.redis.hmget(this.keys.ledger(event), ...chunk);
      vals.forEach((v, j) => {
        if (v) out.set(chunk[j] as string, decode(v));
      });
    }
    return out;
  }

  /** Every record of an event, streamed with HSCAN so a large ledger never blocks Redis. */
  async all(event: string): Promise<Map<string, LedgerRecord>> {
    const out = new Map<string, LedgerRecord>();
    const stream = this.redis.hscanStream(this.keys.ledger(event), { count: 2000 });
    for await (const chunk of stream as AsyncIterable<string[]>)
      for (let i = 0; i < chunk.length; i += 2)
        out.set(chunk[i] as string, decode(chunk[i + 1] as string));
    return out;
  }

  /**
   * The ids of sends currently `scheduled`, a batch at a time (HSCAN): a step of 100,000 sends
   * is never one reply, nor one array, and Redis serves other clients between the batches.
   * An id may come twice (HSCAN's guarantee is "at least once"); callers tolerate that.
   */
  async *pendingIds(event: string): AsyncGenerator<string[]> {
    const stream = this.redis.hscanStream(this.keys.pending(event), { count: 2000 });
    for await (const chunk of stream as AsyncIterable<string[]>)
      yield chunk.filter((_, i) => i % 2 === 0);
  }

  /** Sends currently `scheduled`, with their due time (epoch ms). */
  async pending(event: string): Promise<Map<string, number>> {
    const raw = await this.redis.hgetall(this.keys.pending(event));
    return new Map(Object.entries(raw).map(([id, d]) => [id, Number(d)]));
  }
}
