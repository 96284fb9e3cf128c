/**
 * What `convene inbound` remembers about a mailbox (keys.ts inboundMailbox): the UIDVALIDITY and
 * UID high-water mark, and per message what was done with it. The high-water mark moves only
 * after a message is fully handled (effects stored, message moved or left), and a message's
 * outcome is stored with its effects, so a process killed at any point and started again
 * handles every message exactly once: a message whose outcome is stored is only moved again.
 */

import type { Keys } from "./keys.js";
import type { Redis } from "./redis.js";

export interface MailboxMark {
  uidValidity: string;
  /** Every UID up to this one is handled. */
  uid: number;
}

const field = (message: string) => (message.startsWith("sha256:") ? message : `m:${message}`);

export class InboundStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async mark(mailbox: string): Promise<MailboxMark | undefined> {
    const [uidValidity, uid] = await this.redis.hmget(
      this.keys.inboundMailbox(mailbox),
      "uidvalidity",
      "uid",
    );
    return uidValidity ? { uidValidity, uid: Number(uid ?? 0) } : undefined;
  }

  /**
   * A new UIDVALIDITY means the server renumbered the folder: every UID starts over, so the mark
   * does too; outcomes stay, and the message's content key (run.ts) finds those handled before.
   */
  async setMark(mailbox: string, m: MailboxMark): Promise<void> {
    await this.redis.hset(this.keys.inboundMailbox(mailbox), {
      uidvalidity: m.uidValidity,
      uid: String(m.uid),
    });
  }

  /**
   * A message's outcome by its position (`uidvalidity:uid`, counted) or its content
   * (`sha256:…`, which survives a new UIDVALIDITY and is not counted: the same message has both).
   */
  async outcome(mailbox: string, message: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.inboundMailbox(mailbox), field(message))) ?? undefined;
  }

  async setOutcome(mailbox: string, message: string, outcome: string): Promise<void> {
    await this.redis.hset(this.keys.inboundMailbox(mailbox), field(message), outcome);
  }

  /** Outcome → how many messages had it. */
  async counts(mailbox: string): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.keys.inboundMailbox(mailbox));
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw))
      if (k.startsWith("m:")) {
        const kind = v.split(" ")[0] as string;
        out[kind] = (out[kind] ?? 0) + 1;
      }
    return out;
  }
}
