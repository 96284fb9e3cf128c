/**
 * Where messages go: SMTP when `SMTP_URL` is set (nodemailer, pooled connections), otherwise the
 * outbox folder. One small interface for both, so the worker does not care which it has. SMTP
 * errors are passed through unchanged: nodemailer's `responseCode` and `code` let the worker tell
 * a temporary failure (4xx, lost connection) from a permanent one (5xx).
 */

import type { Readable } from "node:stream";
import nodemailer from "nodemailer";
import type Mail from "nodemailer/lib/mailer/index.js";
import type MailMessage from "nodemailer/lib/mailer/mail-message.js";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { preparedPartsEnabled } from "../calendar/invite-template.js";
import type { Config } from "../config.js";
import { type Assembler, assembler } from "./assembly-threads.js";
import { addressList, Outbox } from "./outbox.js";
import { type SmtpTimeouts, smtpTimeouts } from "./smtp-timeouts.js";

export interface SentInfo {
  messageId: string;
  response: string;
  accepted: string[];
  rejected: string[];
}

export interface Mailer {
  send(msg: Mail.Options): Promise<SentInfo>;
  close(): Promise<void>;
  readonly kind: "smtp" | "outbox";
}

type AddressLike = string | { address: string };
function addresses(list: AddressLike[] | undefined): string[] {
  return (list ?? []).map((a) => (typeof a === "string" ? a : a.address));
}

function allRecipients(msg: Mail.Options): string[] {
  return [msg.to, msg.cc, msg.bcc].flatMap(addressList).map((a) => a.address);
}

/** nodemailer's option names for SmtpTimeouts; a value in SMTP_URL's query wins. */
const TIMEOUT_OPTIONS = {
  connectionTimeout: "connectMs",
  greetingTimeout: "greetingMs",
  socketTimeout: "socketMs",
} as const satisfies Record<string, keyof SmtpTimeouts>;

function withDefaults(url: string, timeouts: SmtpTimeouts): string {
  const u = new URL(url);
  if (!u.searchParams.has("pool")) u.searchParams.set("pool", "true");
  // smtp-pool retries a message whose connection closed before it was sent, 5 times by default,
  // on top of the worker's queue-wide backoff: one requeue is enough for a dropped idle
  // connection, more only multiplies connection attempts against a server that is down.
  if (!u.searchParams.has("maxRequeues")) u.searchParams.set("maxRequeues", "1");
  // nodemailer's own socket timeout is 10 minutes: a silent server would hold a send that long.
  for (const [option, key] of Object.entries(TIMEOUT_OPTIONS))
    if (!u.searchParams.has(option)) u.searchParams.set(option, String(timeouts[key]));
  return u.toString();
}

/** Where a message's streams are noted, so a failure can tell whether any of it went out. */
const TRACK = "conveneTrack";
interface Track {
  streams: Readable[];
}

/**
 * smtp-connection pipes the message stream only after the server's 354 to DATA, and smtp-pool
 * makes a fresh stream for every connection it tries. So "any of this message's streams was
 * read" is exactly "the message may have reached the server"; before that, whatever failed
 * (greeting, AUTH, a connection closed while waiting), nothing was handed over.
 */
function trackStreams(transport: Pick<Mail, "use">): void {
  transport.use("stream", (mail: MailMessage, done: (err?: Error | null) => void) => {
    const track = (mail.data as Record<string, unknown>)[TRACK] as Track | undefined;
    if (track)
      mail.message.processFunc((input: Readable) => {
        track.streams.push(input);
        return input;
      });
    done();
  });
}

function handedOver(track: Track): boolean {
  return track.streams.some((s) => s.readableDidRead);
}

export interface SmtpMailerOptions {
  /** Threads that assemble messages (assembly-threads.ts); 0, the default, is the caller's. */
  threads?: number;
  /** Told once if an assembly thread dies; the caller's thread assembles from then on. */
  onThreadError?: (e: Error) => void;
}

/**
 * A pooled SMTP transport. `pool` is forced on (a campaign sends many messages through few
 * connections); other options come from the URL's query (`?maxConnections=3`), and the timeouts
 * default to `timeouts` (CONVENE_SMTP_*_TIMEOUT_MS). The URL, which holds the credentials, is
 * never logged here: nodemailer's logger stays off. A failure carries `handedOver` (see
 * trackStreams), which src/worker/smtp-errors.ts reads.
 */
export function smtpMailer(
  url: string,
  timeouts: SmtpTimeouts = smtpTimeouts(),
  o: SmtpMailerOptions = {},
): Mailer {
  const transport = nodemailer.createTransport(withDefaults(url, timeouts));
  trackStreams(transport);
  const assembly = assembler(o.threads ?? 0, o.onThreadError);
  return {
    kind: "smtp",
    async send(msg) {
      const track: Track = { streams: [] };
      let info: SMTPTransport.SentMessageInfo;
      try {
        const ready = await forSmtp(msg, assembly);
        info = await transport.sendMail({ ...ready, [TRACK]: track } as Mail.Options);
      } catch (e) {
        if (e instanceof Error) Object.assign(e, { handedOver: handedOver(track) });
        throw e;
      }
      return {
        messageId: info.messageId,
        response: info.response,
        accepted: addresses(info.accepted as AddressLike[]),
        rejected: addresses(info.rejected as AddressLike[]),
      };
    },
    async close() {
      transport.close();
      await assembly.close();
    },
  };
}

/**
 * The message as nodemailer is handed it: assembled into one Buffer (mail/assemble.ts) unless
 * it cannot be, or CONVENE_PREPARED_PARTS=off asks for the slow path (benchmarks compare both).
 */
async function forSmtp(msg: Mail.Options, assembly: Assembler): Promise<Mail.Options> {
  const assembled = preparedPartsEnabled() ? await assembly.assemble(msg) : undefined;
  if (!assembled) return msg;
  // The one option the SMTP transport itself reads from the message.
  return msg.dsn ? { ...assembled, dsn: msg.dsn } : assembled;
}

export function outboxMailer(dir: string): Mailer & { outbox: Outbox } {
  const outbox = new Outbox(dir);
  return {
    kind: "outbox",
    outbox,
    async send(msg) {
      const { entry } = await outbox.write(msg);
      return {
        messageId: entry.messageId,
        response: `250 written to ${dir}/${entry.eml}`,
        accepted: allRecipients(msg),
        rejected: [],
      };
    },
    close: () => outbox.close(),
  };
}

export function createMailer(config: Config, o: SmtpMailerOptions = {}): Mailer {
  return config.smtpUrl
    ? smtpMailer(config.smtpUrl, smtpTimeouts(), o)
    : outboxMailer(config.outboxDir);
}
