/**
 * The IMAP edge of `convene inbound`, behind a small interface so the loop (run.ts) does not
 * know imapflow. `IMAP_URL` is `imaps://user:pass@host[:port]/Folder` (`imap://` for a plain
 * connection, e.g. to a loopback Dovecot); the URL holds the password and is never logged.
 */
import { createHash } from "node:crypto";
import { ImapFlow } from "imapflow";
import { redactUrl } from "../config.js";

export interface MessageHead {
  uid: number;
  /** RFC822.SIZE as the server reports it: checked before anything is downloaded. */
  size: number;
}

export interface Mailbox {
  /** Opens the folder; `uidValidity` as a string, `idle` whether the server pushes new mail. */
  open(): Promise<{ uidValidity: string; idle: boolean }>;
  /** UIDs above `afterUid`, ascending, with their sizes. */
  list(afterUid: number): Promise<MessageHead[]>;
  download(uid: number): Promise<Buffer | undefined>;
  /** Takes a processed message out of the way: moved to the processed folder, or flagged. */
  markProcessed(uid: number): Promise<void>;
  /** Resolves when new mail may have arrived (IDLE push, or imapflow's poll), or after `ms`. */
  waitForNew(ms: number, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface MailboxOptions {
  /** `move` (default) to `folder`, or `flag` with the `$ConveneProcessed` keyword. */
  mark: "move" | "flag";
  /** Processed folder, default `convene/processed` (created when missing). */
  folder: string;
}

export const PROCESSED_FOLDER = "convene/processed";
export const PROCESSED_FLAG = "$ConveneProcessed";

export class ImapUrlError extends Error {
  override name = "ImapUrlError";
}

interface Parsed {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  pass: string;
  folder: string;
}

export function parseImapUrl(url: string): Parsed {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ImapUrlError(
      "IMAP_URL is not a URL (like imaps://user:password@imap.example.org/INBOX); its value is not shown because it may hold a password",
    );
  }
  if (u.protocol !== "imap:" && u.protocol !== "imaps:")
    throw new ImapUrlError(`IMAP_URL must start with imaps:// or imap://, not ${redactUrl(url)}`);
  if (!u.hostname || !u.username)
    throw new ImapUrlError(`IMAP_URL needs a user and a host: ${redactUrl(url)}`);
  const secure = u.protocol === "imaps:";
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 993 : 143,
    secure,
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
    folder: decodeURIComponent(u.pathname.replace(/^\//, "")) || "INBOX",
  };
}

/** A stable name for the mailbox's stored state: host, user and folder, never the password. */
export function mailboxId(url: string): string {
  const p = parseImapUrl(url);
  return createHash("sha256")
    .update([p.host, p.port, p.user.toLowerCase(), p.folder].join("\n"))
    .digest("hex")
    .slice(0, 16);
}

function splitFolder(folder: string): string[] {
  return folder.split("/").filter(Boolean);
}

/**
 * An IMAP failure in words an organizer can act on: imapflow's own message is often just
 * "Command failed"; the server's text and whether it was the login say more. The URL is named
 * without its credentials.
 */
export function imapProblem(url: string, e: unknown): string {
  const err = e as {
    message?: string;
    responseText?: string;
    authenticationFailed?: boolean;
    code?: string;
  };
  const what = err.authenticationFailed
    ? "the login was refused (check the user and password in IMAP_URL; Gmail needs an app password)"
    : [err.message, err.responseText].filter(Boolean).join(": ") || String(e);
  return `could not read the mailbox ${redactUrl(url)}: ${what}`;
}

/** A failure talking to the IMAP server, already worded by imapProblem. */
export class MailboxError extends Error {
  override name = "MailboxError";
}

/** Every IMAP call of the mailbox, with its failure reworded (see imapProblem). */
function guarded<M extends object>(url: string, m: M): M {
  const out = {} as Record<string, unknown>;
  for (const [k, fn] of Object.entries(m))
    out[k] =
      k === "waitForNew" || k === "close"
        ? fn
        : async (...args: unknown[]) => {
            try {
              return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
            } catch (e) {
              throw new MailboxError(imapProblem(url, e));
            }
          };
  return out as M;
}

export function imapMailbox(url: string, o: MailboxOptions): Mailbox {
  const p = parseImapUrl(url);
  let newMail: (() => void) | undefined;
  // New mail announced while no one waits (during a pass, or between a pass and the next
  // wait) is remembered, so that the next wait returns at once instead of at the next poll.
  let announced = false;
  const announce = () => {
    if (newMail) newMail();
    else announced = true;
  };
  /** An ImapFlow cannot connect twice: after a dropped connection, open() makes a new one. */
  const connect = () => {
    const c = new ImapFlow({
      host: p.host,
      port: p.port,
      secure: p.secure,
      auth: { user: p.user, pass: p.pass },
      logger: false,
      // Without IDLE, imapflow polls with NOOP; `exists` fires either way.
      missingIdleCommand: "NOOP",
    });
    c.on("exists", announce);
    // A dropped connection surfaces as the next command's error; this keeps it from being an
    // unhandled 'error' event that would end the process.
    c.on("error", () => {});
    c.on("close", announce);
    return c;
  };
  let client = connect();
  let processedReady = false;

  const ensureFolder = async () => {
    if (processedReady || o.mark !== "move") return;
    try {
      await client.mailboxCreate(splitFolder(o.folder));
    } catch (e) {
      // Already there is fine; anything else shows on the move that follows.
      if (!/exist/i.test(String((e as { responseText?: string }).responseText ?? e))) throw e;
    }
    processedReady = true;
  };

  return guarded(url, {
    async open() {
      if (!client.usable) {
        client.close();
        client = connect();
        await client.connect();
      }
      const box = await client.mailboxOpen(p.folder);
      return { uidValidity: String(box.uidValidity), idle: client.capabilities.has("IDLE") };
    },
    async list(afterUid) {
      // `n:*` always includes the highest message, even below n (RFC 3501), hence the filter.
      const all = await client.fetchAll(
        `${afterUid + 1}:*`,
        { uid: true, size: true },
        { uid: true },
      );
      return all
        .filter((m) => m.uid > afterUid)
        .map((m) => ({ uid: m.uid, size: m.size ?? 0 }))
        .sort((a, b) => a.uid - b.uid);
    },
    async download(uid) {
      const m = await client.fetchOne(String(uid), { source: true }, { uid: true });
      return m ? m.source : undefined;
    },
    async markProcessed(uid) {
      if (o.mark === "flag") {
        await client.messageFlagsAdd(String(uid), [PROCESSED_FLAG], { uid: true });
        return;
      }
      await ensureFolder();
      await client.messageMove(String(uid), splitFolder(o.folder), { uid: true });
    },
    waitForNew(ms, signal) {
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          newMail = undefined;
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const t = setTimeout(done, ms);
        newMail = done;
        if (announced) {
          announced = false;
          done();
          return;
        }
        signal?.addEventListener("abort", done, { once: true });
        // imapflow would start IDLE by itself only after 15 s without commands; start it now
        // (without IDLE it polls). The next command ends it.
        if (client.usable) client.idle().catch(() => undefined);
      });
    },
    async close() {
      try {
        await client.logout();
      } catch {
        client.close();
      }
    },
  } satisfies Mailbox);
}
