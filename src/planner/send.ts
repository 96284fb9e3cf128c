import { createHash } from "node:crypto";
import type { SendKey } from "../types.js";

export type { Send, SendKey } from "../types.js";

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
    .digest()
    .toString("hex", 0, 8);
  return flatOneByte(`${k.event}.${k.step}.${h}`);
}

/**
 * The same ASCII text as one flat one-byte string. A plan keeps one id per send, and V8 kept a
 * template literal's id as a concatenation over a copy in two-byte form (event ids are sliced
 * from a YAML source with non-Latin-1 text): about 250 bytes an id instead of 72, 17 MB at
 * 100,000 sends (issue 12). A Latin-1 round trip through a Buffer is the one way Node offers
 * to make a flat one-byte copy; send ids are ASCII by construction (slugs and hex).
 */
function flatOneByte(ascii: string): string {
  return Buffer.from(ascii, "latin1").toString("latin1");
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
