/**
 * Upgrade safety for a move from one Redis to a cluster. On a cluster convene reads an event's
 * ledger under its hash tag (`{<prefix>:<event>}:ledger`, keys.ts); a ledger copied over under
 * the single-Redis name (`<prefix>:ledger:<event>`, as a key-by-key migration tool leaves it)
 * would be invisible, and every send it records as made would be made again. So the scheduler
 * asks here before it plans an event on a cluster.
 */
import { type Keys, keys } from "./keys.js";
import type { Redis } from "./redis.js";

export class LayoutCheck {
  private readonly single: Keys;

  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    prefix: string,
  ) {
    this.single = keys(prefix);
  }

  /**
   * On a cluster: the single-Redis name of `event`'s ledger when a ledger is there and none is
   * under the cluster name (so the old one was not copied over); undefined otherwise, and always
   * on one Redis, where both names are the same. Two single-key reads, two slots.
   */
  async strandedLedger(event: string): Promise<string | undefined> {
    if (!this.k.cluster) return undefined;
    const old = this.single.ledger(event);
    if ((await this.redis.exists(old)) === 0) return undefined;
    return (await this.redis.exists(this.k.ledger(event))) === 0 ? old : undefined;
  }
}
