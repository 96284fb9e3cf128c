/**
 * Prints every message of an event's campaign as JSON (step, item, text body, calendar parts),
 * for tests that render in a child process with another TZ.
 * Usage: node --import tsx test/render/print-messages.ts <event dir>
 */
import { messagesOf } from "./messages.js";

const dir = process.argv[2];
if (!dir) throw new Error("usage: print-messages.ts <event dir>");
const messages = await messagesOf(dir, { all: true });
process.stdout.write(
  JSON.stringify(
    messages.map((m) => ({
      step: m.send.step,
      kind: m.send.kind,
      item: m.send.item,
      recipient: m.send.recipient,
      text: m.text,
      calendars: m.calendars,
    })),
  ),
);
