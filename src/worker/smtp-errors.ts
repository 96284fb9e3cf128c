/**
 * What an SMTP failure means for the send. nodemailer errors carry `responseCode` (the server's
 * reply code), `command` (which SMTP command failed) and `code` (ECONNECTION, ETIMEDOUT, …).
 *
 *  - `slow-down`: 421 / 450 / 451. The server is throttling or temporarily overloaded; every
 *    send to it would get the same answer, so the whole queue backs off, not just this job.
 *  - `transient`: other 4xx, timeouts, lost or refused connections, bad credentials (a config
 *    problem an operator can fix while retries are still pending). Retried with backoff.
 *  - `permanent`: 5xx except 503, as nodemailer's `err.permanent` has it (503 "bad sequence of
 *    commands" is about the session's state, and a new connection gets past it: transient).
 *    Failed at once. `suppress` is true only for a 5xx to RCPT TO: that reply refuses the address
 *    itself, so it must not be mailed again. A 5xx to DATA refuses this message (content, size),
 *    and one to MAIL FROM or AUTH is about us; neither says anything against the recipient.
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
  /** nodemailer's verdict (isPermanentResponseCode), set whenever there is a reply code. */
  permanent?: boolean;
}

/** nodemailer marks 503 not permanent; this holds when an error lacks `permanent`. */
const NOT_PERMANENT_5XX: ReadonlySet<number> = new Set([503]);

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
    const permanent =
      typeof err.permanent === "boolean" ? err.permanent : !NOT_PERMANENT_5XX.has(code);
    if (!permanent) return { kind: "transient", code, reply };
    const cmd = (err.command ?? "").toUpperCase();
    return { kind: "permanent", code, reply, suppress: cmd === "RCPT TO" };
  }
  if (err?.code && CONNECTION_CODES.has(err.code)) return { kind: "transient", reply };
  return { kind: "error", reply };
}
