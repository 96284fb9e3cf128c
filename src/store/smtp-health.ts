/**
 * SMTP trouble that concerns every send, shared by all worker processes through Redis.
 *
 * Connection backoff: when the server cannot be reached (refused, DNS, greeting), every send
 * would fail the same way, so the whole queue waits instead of each job retrying on its own.
 * The wait doubles per failed round and is capped; a success starts it over. Failures that
 * arrive while a wait is running (the other jobs of the same round, other workers) do not grow
 * it again, so concurrency does not inflate the backoff.
 *
 * Halt: an AUTH failure means our credentials are wrong; retrying per send would hammer the
 * server (and can lock the account). The first worker to see it records why; the queue is paused
 * (worker/runtime.ts) until a worker that sends starts again, with the SMTP_URL fixed.
 */

import type { Keys } from "./keys.js";
import type { Redis } from "./redis.js";
import { defineScripts } from "./scripts.js";

export interface Halt {
  /** ISO instant. */
  at: string;
  /** The server's reply (or nodemailer's message). */
  reply: string;
  /** SMTP_URL with its credentials redacted. */
  server: string;
}

export interface Clearance {
  halt: Halt | undefined;
  /** As waitingMs, but never below 0. */
  waitingMs: number;
  /** The SEND_RATE turn when one was asked for and nothing else held the send back. */
  turn?: number;
}

export class SmtpHealth {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly clock: () => number = Date.now,
  ) {
    defineScripts(redis);
  }

  /** Records a failure to reach the server; returns how long the queue must wait (ms). */
  async connectionFailed(baseMs: number, maxMs: number): Promise<number> {
    const wait = await this.redis.smtpConnectionFailed(
      this.keys.smtpBackoff(),
      String(this.clock()),
      String(Math.max(1, baseMs)),
      String(Math.max(1, maxMs)),
    );
    return Number(wait);
  }

  /** The server answered: the next failure starts from the base wait again. */
  async connectionOk(): Promise<void> {
    await this.redis.del(this.keys.smtpBackoff());
  }

  /** Records the halt; true for the first caller (the one that reports it). */
  async halt(h: Halt): Promise<boolean> {
    return (await this.redis.set(this.keys.smtpHalt(), JSON.stringify(h), "NX")) === "OK";
  }

  async halted(): Promise<Halt | undefined> {
    const v = await this.redis.get(this.keys.smtpHalt());
    return v ? (JSON.parse(v) as Halt) : undefined;
  }

  /** Lifts the halt; returns what it was, if there was one. */
  /**
   * Records a slow-down (421/450/451) the queue now waits out. Kept beside the connection
   * backoff so a send that was already fetched, and waited for a pooled connection while the
   * slow-down began, can see it before it claims (see waitingMs).
   */
  async slowDown(ms: number): Promise<void> {
    const wait = Math.max(1, Math.ceil(ms));
    await this.redis.set(this.keys.smtpSlowDown(), String(this.clock() + wait), "PX", wait);
  }

  /** How long every send must still wait: a slow-down or a connection backoff, whichever ends later. */
  async waitingMs(): Promise<number> {
    const replies = (await this.redis
      .pipeline()
      .get(this.keys.smtpSlowDown())
      .hget(this.keys.smtpBackoff(), "until")
      .exec()) as [Error | null, string | null][] | null;
    const ends = (replies ?? []).map(([, v]) => Number(v ?? 0));
    return Math.max(0, ...ends) - this.clock();
  }

  /**
   * What halted and waitingMs say, and on a cluster a SEND_RATE turn (as SendRate.take answers
   * it, taken only when neither holds the send back), in one round trip: a send asks this after
   * it got its SMTP slot, before every claim.
   */
  async clearance(pace?: { perSecond: number; maxWaitMs: number }): Promise<Clearance> {
    const [halt, wait, turn] = await this.redis.smtpClearance(
      this.keys.smtpHalt(),
      this.keys.smtpSlowDown(),
      this.keys.smtpBackoff(),
      this.keys.sendRate(),
      String(this.clock()),
      String(pace && pace.perSecond > 0 ? 1000 / pace.perSecond : 0),
      String(pace?.maxWaitMs ?? 0),
    );
    return {
      halt: halt ? (JSON.parse(halt) as Halt) : undefined,
      waitingMs: Number(wait),
      ...(turn !== null && turn !== undefined ? { turn: Number(turn) } : {}),
    };
  }

  async clearHalt(): Promise<Halt | undefined> {
    const v = await this.redis.getdel(this.keys.smtpHalt());
    return v ? (JSON.parse(v) as Halt) : undefined;
  }
}
