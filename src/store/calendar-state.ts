/**
 * Where the invite lifecycle state lives. The interface is what the scheduler and worker use;
 * the Redis implementation is the one production runs (Redis with AOF is convene's only store).
 *
 * Layout, per event, three hashes (keys.ts: calendarItems, calendarDelivered, calendarIssued)
 *   items      itemId            → JSON {sequence, contentSequence, fingerprint, snapshot, cancelled}
 *   delivered  itemId \n email   → JSON DeliveryRecord   (written by the worker, after SMTP)
 *   issued     itemId \n email   → JSON IssuedRecord     (written with reconcile's result)
 * Deliveries and reconcile's writes go to different hashes, so a reconcile running while the
 * worker records deliveries never overwrites one.
 */
import type {
  CalendarState,
  DeliveryRecord,
  IssuedRecord,
  ItemState,
  RecipientState,
} from "../calendar/lifecycle.js";
import { type Keys, keys } from "./keys.js";
import type { Redis } from "./redis.js";
import { defineScripts } from "./scripts.js";

export interface CalendarStateStore {
  load(event: string): Promise<CalendarState>;
  /** Stores reconcile's item records and issued marks; never touches delivery records. */
  save(event: string, state: CalendarState): Promise<void>;
  /** After SMTP accepted a calendar message. An older sequence never replaces a newer one. */
  recordDelivery(event: string, itemId: string, email: string, d: DeliveryRecord): Promise<void>;
  /** What this recipient was last delivered for the item (with the basis to compose it again). */
  delivered(event: string, itemId: string, email: string): Promise<DeliveryRecord | undefined>;
  /** The item's current SEQUENCE (0 when unknown): what a first invite is rendered with. */
  sequence(event: string, itemId: string): Promise<number>;
  item(event: string, itemId: string): Promise<ItemState | undefined>;
  /** Removes everything stored for the event. */
  clear(event: string): Promise<void>;
}

type ItemMeta = Omit<ItemState, "recipients">;

const FIELD_SEP = "\n";

export function recipientField(itemId: string, email: string): string {
  return `${itemId}${FIELD_SEP}${email.toLowerCase()}`;
}

export class RedisCalendarStateStore implements CalendarStateStore {
  private readonly keys: Keys;

  constructor(
    private readonly redis: Redis,
    /** `config.prefix` in production, a unique prefix per test file. */
    prefix: string,
  ) {
    this.keys = keys(prefix, { cluster: redis.isCluster });
    defineScripts(redis);
  }

  async load(event: string): Promise<CalendarState> {
    const [items, delivered, issued] = await Promise.all([
      this.redis.hgetall(this.keys.calendarItems(event)),
      this.redis.hgetall(this.keys.calendarDelivered(event)),
      this.redis.hgetall(this.keys.calendarIssued(event)),
    ]);
    const state: CalendarState = { items: {} };
    for (const [id, json] of Object.entries(items))
      state.items[id] = { ...(JSON.parse(json) as ItemMeta), recipients: {} };
    const recipient = (field: string): RecipientState => {
      const [id = "", email = ""] = field.split(FIELD_SEP);
      // Deliveries recorded before reconcile first saw the item: known sequence, unknown content.
      state.items[id] ??= {
        sequence: 0,
        contentSequence: 0,
        fingerprint: "",
        cancelled: false,
        recipients: {},
      };
      const item = state.items[id];
      item.recipients[email] ??= {};
      return item.recipients[email];
    };
    for (const [field, json] of Object.entries(delivered)) {
      const d = JSON.parse(json) as DeliveryRecord;
      recipient(field).delivered = d;
      const item = state.items[field.split(FIELD_SEP)[0] ?? ""];
      if (item && item.fingerprint === "") item.sequence = Math.max(item.sequence, d.sequence);
    }
    for (const [field, json] of Object.entries(issued))
      recipient(field).issued = JSON.parse(json) as IssuedRecord;
    return state;
  }

  async save(event: string, state: CalendarState): Promise<void> {
    const items: Record<string, string> = {};
    const issued: Record<string, string> = {};
    for (const [id, { recipients, ...meta }] of Object.entries(state.items)) {
      items[id] = JSON.stringify(meta);
      for (const [email, r] of Object.entries(recipients))
        if (r.issued) issued[recipientField(id, email)] = JSON.stringify(r.issued);
    }
    const tx = this.redis.multi();
    if (Object.keys(items).length) tx.hset(this.keys.calendarItems(event), items);
    if (Object.keys(issued).length) tx.hset(this.keys.calendarIssued(event), issued);
    await tx.exec();
  }

  async recordDelivery(
    event: string,
    itemId: string,
    email: string,
    d: DeliveryRecord,
  ): Promise<void> {
    // The script keeps the newer record: several workers may record at once.
    await this.redis.calendarRecordDelivery(
      this.keys.calendarDelivered(event),
      recipientField(itemId, email),
      JSON.stringify(d),
      String(d.sequence),
    );
  }

  async delivered(
    event: string,
    itemId: string,
    email: string,
  ): Promise<DeliveryRecord | undefined> {
    const json = await this.redis.hget(
      this.keys.calendarDelivered(event),
      recipientField(itemId, email),
    );
    return decodeDelivery(json);
  }

  async item(event: string, itemId: string): Promise<ItemState | undefined> {
    return decodeItem(await this.redis.hget(this.keys.calendarItems(event), itemId));
  }

  async sequence(event: string, itemId: string): Promise<number> {
    return (await this.item(event, itemId))?.sequence ?? 0;
  }

  async clear(event: string): Promise<void> {
    await this.redis.del(
      this.keys.calendarItems(event),
      this.keys.calendarDelivered(event),
      this.keys.calendarIssued(event),
    );
  }
}

/** One field of the delivered hash; shared with the send checks (send-checks.ts). */
export function decodeDelivery(json: string | null | undefined): DeliveryRecord | undefined {
  return json ? (JSON.parse(json) as DeliveryRecord) : undefined;
}

/** One field of the items hash, without its recipients (they live in the other two hashes). */
export function decodeItem(json: string | null | undefined): ItemState | undefined {
  return json ? { ...(JSON.parse(json) as ItemMeta), recipients: {} } : undefined;
}
