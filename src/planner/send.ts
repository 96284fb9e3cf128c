import { createHash } from "node:crypto";
import type { MessageKind } from "../model/schema.js";

/** One message to one recipient at one moment: the unit the scheduler queues and the ledger tracks. */
export interface Send {
  /** Deterministic: the BullMQ job id, the ledger key and the Message-ID's local part. */
  id: string;
  event: string;
  step: string;
  kind: MessageKind;
  /** The recipient's e-mail address as written in the CSV. */
  recipient: string;
  name: string;
  team?: string;
  /** For calendar invites: the calendar item this send carries. */
  item?: string;
  /**
   * Content version: 0 for a first send; calendar updates and cancellations carry the item's
   * SEQUENCE so each new version is a new send with its own id.
   */
  version: number;
  /** ISO 8601 UTC. */
  due: string;
  /** The same instant in the zone the trigger was computed in, with its offset. */
  dueLocal: string;
  /** That zone: the event's, or the recipient's for `zone: recipient` steps. */
  zone: string;
  /** ISO 8601 UTC: after this the send is missed, not sent late. */
  expires: string;
}

export interface SendKey {
  event: string;
  step: string;
  recipient: string;
  item?: string;
  version: number;
}

/**
 * `<event>.<step>.<hash>`: readable in logs and status, valid as a BullMQ custom job id (no `:`,
 * not an integer) and as a Message-ID local part (dot-atom). The hash covers the recipient
 * (case-folded, since addresses are case-insensitive in practice), the item and the version;
 * 64 bits keep collisions negligible for millions of sends. The due time is deliberately not
 * part of it: a moved send keeps its id, so the scheduler re-times it instead of adding another.
 */
export function sendId(k: SendKey): string {
  const h = createHash("sha256")
    .update(
      [k.event, k.step, k.recipient.toLowerCase(), k.item ?? "", String(k.version)].join("\n"),
    )
    .digest("hex")
    .slice(0, 16);
  return `${k.event}.${k.step}.${h}`;
}

export interface ParsedSendId {
  event: string;
  step: string;
  /** The 16 hex digits that stand for recipient, item and version. */
  hash: string;
}

/**
 * The event and step a send id names. Event and step ids are slugs (letters, digits, dashes:
 * model/schema.ts), so an id has exactly two dots; anything else is not a send id.
 */
export function parseSendId(id: string): ParsedSendId | undefined {
  const m = /^([a-z0-9][a-z0-9-]*)\.([a-z0-9][a-z0-9-]*)\.([0-9a-f]{16})$/.exec(id);
  return m ? { event: m[1] as string, step: m[2] as string, hash: m[3] as string } : undefined;
}
