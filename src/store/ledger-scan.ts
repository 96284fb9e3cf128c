import type { Keys } from "./keys.js";
import { decode, type LedgerRecord } from "./ledger.js";
import type { Redis } from "./redis.js";

/**
 * Every record of an event's ledger, one at a time: HSCAN in chunks so a ledger of 100,000
 * sends never blocks Redis and is never held in memory at once (what /metrics needs to count
 * sends per step and state at each scrape).
 */
export class LedgerScan {
  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
  ) {}

  async *entries(event: string): AsyncGenerator<[string, LedgerRecord]> {
    const stream = this.redis.hscanStream(this.k.ledger(event), { count: 2000 });
    for await (const chunk of stream as AsyncIterable<string[]>)
      for (let i = 0; i < chunk.length; i += 2)
        yield [chunk[i] as string, decode(chunk[i + 1] as string)];
  }
}
