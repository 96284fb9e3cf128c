/**
 * The inbound loop: read every message above the high-water mark once, classify it, apply it,
 * move it (or leave it), then move the mark. See src/store/inbound.ts for why a kill at any
 * point and a restart handle each message exactly once.
 */
import { createHash } from "node:crypto";
import { simpleParser } from "mailparser";
import type { Logger } from "pino";
import type { InboundStore } from "../store/inbound.js";
import { type ApplyContext, applyClassified, type Outcome } from "./apply.js";
import { classify, cleanValue } from "./classify.js";
import type { Mailbox, MessageHead } from "./mailbox.js";

/** Larger messages are not downloaded (INBOUND_MAX_BYTES): no bounce or RSVP is that big. */
export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

export interface InboundOptions {
  mailbox: Mailbox;
  /** Names the stored state (mailboxId(IMAP_URL)). */
  mailboxId: string;
  store: InboundStore;
  ctx: ApplyContext;
  log: Pick<Logger, "info" | "warn" | "error">;
  maxBytes?: number;
  /** Between passes when the server does not push (or nothing came), ms. */
  pollMs?: number;
  /** One pass, then return (`convene inbound --once`). */
  once?: boolean;
  signal?: AbortSignal;
}

export type PassCounts = Record<string, number>;

async function outcomeOf(source: Buffer, key: string, o: InboundOptions): Promise<Outcome> {
  let mail: Awaited<ReturnType<typeof simpleParser>>;
  try {
    mail = await simpleParser(source, {
      keepDeliveryStatus: true,
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipImageLinks: true,
      skipTextLinks: true,
    });
  } catch (e) {
    return {
      outcome: "malformed",
      move: false,
      detail: `unreadable message (${cleanValue(String(e), 80)})`,
    };
  }
  const c = classify(mail, o.ctx.bounceAddress ? { bounceAddress: o.ctx.bounceAddress } : {});
  return applyClassified(c, key, o.ctx);
}

function storedOutcome(known: string): Outcome {
  const [kind = "unknown", move] = known.split(" ");
  return { outcome: kind as Outcome["outcome"], move: move === "move", detail: "handled before" };
}

/**
 * A message by its content: the same bytes under any UID. When the server renumbers the folder
 * (a new UIDVALIDITY: a restore, a migration, a rebuilt index) every UID is new, and a message
 * already handled (left in INBOX, or flagged) must not be applied again: that would put back a
 * suppression the organizer has lifted since, or count an answer twice. An attacker cannot
 * pre-empt a real message this way: its bytes include the headers the receiving server adds.
 */
function contentKey(source: Buffer): string {
  return `sha256:${createHash("sha256").update(source).digest("hex")}`;
}

async function fresh(head: MessageHead, o: InboundOptions): Promise<Outcome | string> {
  const max = o.maxBytes ?? DEFAULT_MAX_BYTES;
  if (head.size > max)
    return {
      outcome: "too-large",
      move: false,
      detail: `${head.size} bytes, above the ${max}-byte limit: not downloaded`,
    };
  const source = await o.mailbox.download(head.uid);
  if (!source) return { outcome: "unknown", move: false, detail: "gone before it could be read" };
  const key = contentKey(source);
  const known = await o.store.outcome(o.mailboxId, key);
  if (known) return known;
  const out = await outcomeOf(source, key, o);
  await o.store.setOutcome(o.mailboxId, key, `${out.outcome} ${out.move ? "move" : "leave"}`);
  return out;
}

/** One message: its stored outcome if it was handled before (only the move may be missing). */
async function handle(head: MessageHead, uidValidity: string, o: InboundOptions): Promise<Outcome> {
  const position = `${uidValidity}:${head.uid}`;
  const known = await o.store.outcome(o.mailboxId, position);
  if (known) return storedOutcome(known);
  const got = await fresh(head, o);
  const out = typeof got === "string" ? storedOutcome(got) : got;
  await o.store.setOutcome(
    o.mailboxId,
    position,
    typeof got === "string" ? got : `${out.outcome} ${out.move ? "move" : "leave"}`,
  );
  return out;
}

function logOutcome(o: InboundOptions, uid: number, out: Outcome): void {
  const line = { uid, outcome: out.outcome, detail: out.detail };
  const quiet = ["bounced", "soft-bounce", "rsvp", "unsubscribed", "auto-reply", "unknown"];
  if (quiet.includes(out.outcome) || out.detail === "handled before")
    o.log.info(line, "inbound message");
  else o.log.warn(line, "inbound message left in the mailbox");
}

/** One pass over the folder; returns how many messages had each outcome. */
export async function inboundPass(
  o: InboundOptions,
): Promise<{ counts: PassCounts; idle: boolean }> {
  const { uidValidity, idle } = await o.mailbox.open();
  const mark = await o.store.mark(o.mailboxId);
  const after = mark && mark.uidValidity === uidValidity ? mark.uid : 0;
  if (!mark || mark.uidValidity !== uidValidity)
    await o.store.setMark(o.mailboxId, { uidValidity, uid: 0 });
  const counts: PassCounts = {};
  for (const head of await o.mailbox.list(after)) {
    if (o.signal?.aborted) break;
    const out = await handle(head, uidValidity, o);
    if (out.move) await o.mailbox.markProcessed(head.uid);
    await o.store.setMark(o.mailboxId, { uidValidity, uid: head.uid });
    counts[out.outcome] = (counts[out.outcome] ?? 0) + 1;
    logOutcome(o, head.uid, out);
  }
  return { counts, idle };
}

/** The longest wait between attempts while the server or Redis cannot be reached. */
const MAX_RETRY_MS = 5 * 60_000;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * Passes until `signal` aborts (or one, with `once`), waiting for new mail in between. A pass
 * that fails (the connection dropped, a wrong password, Redis away) is tried again with a
 * doubling wait, so a worker started with --inbound keeps sending whatever its mailbox does;
 * with `once` the failure is the command's.
 */
export async function runInbound(o: InboundOptions): Promise<PassCounts> {
  const total: PassCounts = {};
  let retryMs = 1_000;
  for (;;) {
    try {
      const { counts } = await inboundPass(o);
      for (const [k, n] of Object.entries(counts)) total[k] = (total[k] ?? 0) + n;
      retryMs = 1_000;
    } catch (e) {
      if (o.once) throw e;
      o.log.warn(
        { error: cleanValue(String((e as Error)?.message ?? e), 200), retryInMs: retryMs },
        "convene inbound: mailbox pass failed",
      );
      await sleep(retryMs, o.signal);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      if (o.signal?.aborted) return total;
      continue;
    }
    if (o.once || o.signal?.aborted) return total;
    await o.mailbox.waitForNew(o.pollMs ?? 60_000, o.signal);
    if (o.signal?.aborted) return total;
  }
}
