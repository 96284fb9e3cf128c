/**
 * What an SMTP failure means for the send. nodemailer errors carry `responseCode` (the server's
 * reply code), `command` (which SMTP command failed) and `code` (ECONNECTION, ETIMEDOUT, …).
 *
 *  - `slow-down`: 421 / 450 / 451. The server is throttling or temporarily overloaded; every
 *    send to it would get the same answer, so the whole queue backs off, not just this job.
 *  - `transient`: other 4xx, timeouts, lost or refused connections, bad credentials (a config
 *    problem an operator can fix while retries are still pending). Retried with backoff.
 *  - `permanent`: 5xx. Failed at once. `suppress` says whether the reply is about the recipient
 *    (RCPT TO or the message itself) and so the address must not be mailed again; a 5xx to
 *    MAIL FROM or AUTH is about us, not them.
 *  - `error`: not an SMTP failure at all (a bug, a template problem): failed, never retried.
 */
export type Failure =
  | { kind: "slow-down"; code: number; reply: string }
  | { kind: "transient"; code?: number; reply: string }
  | { kind: "permanent"; code: number; reply: string; suppress: boolean }
  | { kind: "error"; reply: string };

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

export const SLOW_DOWN_CODES: ReadonlySet<number> = new Set([421, 450, 451]);

const CONNECTION_CODES = new Set([
  "ECONNECTION",
  "ETIMEDOUT",
  "ESOCKET",
  "EDNS",
  "ETLS",
  "EPROTOCOL",
  "EAUTH",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EMAXLIMIT",
]);

const SENDER_COMMANDS = new Set(["MAIL FROM", "AUTH", "AUTH PLAIN", "AUTH LOGIN", "EHLO", "HELO"]);

export function classify(e: unknown): Failure {
  const err = e as SmtpError;
  const reply = (err?.response ?? err?.message ?? String(e)).toString();
  const code = typeof err?.responseCode === "number" ? err.responseCode : undefined;
  if (code !== undefined && code >= 400 && code < 500) {
    if (SLOW_DOWN_CODES.has(code)) return { kind: "slow-down", code, reply };
    return { kind: "transient", code, reply };
  }
  if (code !== undefined && code >= 500) {
    if (err.code === "EAUTH") return { kind: "transient", code, reply };
    const cmd = (err.command ?? "").toUpperCase();
    return {
      kind: "permanent",
      code,
      reply,
      suppress: !SENDER_COMMANDS.has(cmd) && !cmd.startsWith("AUTH"),
    };
  }
  if (err?.code && CONNECTION_CODES.has(err.code)) return { kind: "transient", reply };
  return { kind: "error", reply };
}
