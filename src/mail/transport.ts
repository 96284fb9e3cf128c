/**
 * Where messages go: SMTP when `SMTP_URL` is set (nodemailer, pooled connections), otherwise the
 * outbox folder. One small interface for both, so the worker does not care which it has. SMTP
 * errors are passed through unchanged: nodemailer's `responseCode` and `code` let the worker tell
 * a temporary failure (4xx, lost connection) from a permanent one (5xx).
 */
import nodemailer from "nodemailer";
import type Mail from "nodemailer/lib/mailer/index.js";
import type { Config } from "../config.js";
import { addressList, Outbox } from "./outbox.js";

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

/**
 * A pooled SMTP transport. `pool` is forced on (a campaign sends many messages through few
 * connections); other options come from the URL's query (`?maxConnections=3`). The URL, which
 * holds the credentials, is never logged here: nodemailer's logger stays off.
 */
export function smtpMailer(url: string): Mailer {
  const u = new URL(url);
  if (!u.searchParams.has("pool")) u.searchParams.set("pool", "true");
  const transport = nodemailer.createTransport(u.toString());
  return {
    kind: "smtp",
    async send(msg) {
      const info = await transport.sendMail(msg);
      return {
        messageId: info.messageId,
        response: info.response,
        accepted: addresses(info.accepted as AddressLike[]),
        rejected: addresses(info.rejected as AddressLike[]),
      };
    },
    async close() {
      transport.close();
    },
  };
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

export function createMailer(config: Config): Mailer {
  return config.smtpUrl ? smtpMailer(config.smtpUrl) : outboxMailer(config.outboxDir);
}
