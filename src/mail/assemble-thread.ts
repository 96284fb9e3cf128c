/**
 * The entry of an assembly thread (assembly-threads.ts): assembles each message the worker's
 * main thread posts, with a part cache of its own, and answers with the bytes. Nothing else
 * runs here: no Redis, no SMTP, no definition.
 */
import { parentPort } from "node:worker_threads";
import type Mail from "nodemailer/lib/mailer/index.js";
import { assemble, PartCache } from "./assemble.js";
import type { AssemblyReply, AssemblyRequest } from "./assembly-threads.js";

const cache = new PartCache();

/**
 * A Buffer posted to a thread arrives as a plain Uint8Array, and nodemailer takes content that
 * is not a Buffer (`Buffer.isBuffer`) for something else: every one becomes a Buffer again, over
 * the same memory. A Date is cloned as a Date.
 */
function withBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return Buffer.isBuffer(value)
      ? value
      : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(withBuffers);
  if (value === null || typeof value !== "object" || value instanceof Date) return value;
  // fromEntries defines each key as an own property, as the caller's object had it.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withBuffers(v)]));
}

/** The raw bytes as memory of their own, so they can be moved to the main thread, not copied. */
function ownMemory(raw: Buffer): Uint8Array {
  if (raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength) return raw;
  return new Uint8Array(raw);
}

function answer(req: AssemblyRequest): { reply: AssemblyReply; transfer: ArrayBuffer[] } {
  try {
    const a = assemble(withBuffers(req.msg) as Mail.Options, cache);
    if (!a) return { reply: { id: req.id, outcome: "unsupported" }, transfer: [] };
    const raw = ownMemory(a.raw);
    return {
      reply: {
        id: req.id,
        outcome: "assembled",
        raw,
        envelope: a.envelope,
        messageId: a.messageId,
      },
      transfer: [raw.buffer as ArrayBuffer],
    };
  } catch {
    // The main thread assembles it again itself, so the error reaches the send as it always did.
    return { reply: { id: req.id, outcome: "failed" }, transfer: [] };
  }
}

parentPort?.on("message", (req: AssemblyRequest) => {
  const { reply, transfer } = answer(req);
  parentPort?.postMessage(reply, transfer);
});
