/**
 * What an SMTP failure means for the send, and nodemailer's error taxonomy behind it.
 * nodemailer errors carry `responseCode` (the server's reply code), `command` (which SMTP command
 * failed, or "CONN" for the socket), `code` (ECONNECTION, ETIMEDOUT, EAUTH, …), `originalCode`
 * (the system error under an ECONNECTION: ECONNREFUSED, ENOTFOUND, …) and `timeoutType`.
 * src/mail/transport.ts adds `handedOver`: whether any byte of the message reached the socket.
 *
 *  - `slow-down`: 421 / 450 / 451. The server is throttling or temporarily overloaded; every
 *    send to it would get the same answer, so the whole queue backs off, not just this job.
 *  - `connection`: no SMTP session could be set up (refused, DNS, connect or greeting timeout,
 *    closed before the greeting, a 5xx greeting). Says nothing about the send and the same holds
 *    for every send, so the whole queue backs off, exponentially while it lasts.
 *  - `auth`: the server refused our credentials (EAUTH). Every send would fail the same way and
 *    retrying can lock the account: the worker stops sending until an operator fixes SMTP_URL.
 *  - `transient`: other 4xx, lost connections mid-session. Retried with backoff.
 *  - `permanent`: 5xx except 503, as nodemailer's `err.permanent` has it (503 "bad sequence of
 *    commands" is about the session's state, and a new connection gets past it: transient).
 *    Failed at once. `suppress` is true only when the reply to RCPT TO says the mailbox does
 *    not exist (mailboxGone). A 5xx to DATA refuses this message (content, size), and one to
 *    MAIL FROM is about us; neither says anything against the recipient.
 *  - `error`: not an SMTP failure at all (a bug, a template problem): failed, never retried.
 */
export type SmtpFailure =
  | { kind: "slow-down"; code: number; reply: string }
  | { kind: "connection"; code?: number; reply: string }
  | { kind: "auth"; code?: number; reply: string }
  | { kind: "transient"; code?: number; reply: string }
  | { kind: "permanent"; code: number; reply: string; suppress: boolean }
  | { kind: "error"; reply: string };

export interface SmtpError extends Error {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  timeoutType?: string;
  /** nodemailer's verdict (isPermanentResponseCode), set whenever there is a reply code. */
  permanent?: boolean;
  /** Set by src/mail/transport.ts: whether the message stream was read (DATA had begun). */
  handedOver?: boolean;
}

/** nodemailer marks 503 not permanent; this holds when an error lacks `permanent`. */
const NOT_PERMANENT_5XX: ReadonlySet<number> = new Set([503]);

export const SLOW_DOWN_CODES: ReadonlySet<number> = new Set([421, 450, 451]);

/** System errors that mean no connection was ever made, so no message was handed over. */
const NEVER_CONNECTED: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** nodemailer timeouts that fire before a session exists (smtp-connection timeoutError). */
const SETUP_TIMEOUTS: ReadonlySet<string> = new Set(["CONNECT_TIMEOUT", "GREETING_TIMEOUT"]);

/** Commands of session setup: a failure there is about the server, not the message. */
const SETUP_COMMANDS: ReadonlySet<string> = new Set(["CONN", "EHLO", "HELO", "LHLO", "STARTTLS"]);

/**
 * smtp-pool's error for a message whose connections all closed before it was sent: it is raised
 * only while the message still waits for a usable connection (closed before the greeting, or a
 * reused connection dropped before a byte of it was read), never after DATA began.
 */
const POOL_GAVE_UP = "Reached maximum number of retries after connection was closed";

const SOCKET_CODES: ReadonlySet<string> = new Set([
  "ECONNECTION",
  "ETIMEDOUT",
  "ESOCKET",
  "ETLS",
  "EPROTOCOL",
  "ECONNRESET",
  "EPIPE",
  "EMAXLIMIT",
]);

/** RFC 3463 X.1.7 and X.1.8 are about the sender's address, not the recipient's. */
const SENDER_ADDRESS_DETAILS: ReadonlySet<string> = new Set(["7", "8"]);

/** Basic codes that say "no such mailbox" when the reply carries no enhanced status code. */
const MAILBOX_GONE_CODES: ReadonlySet<number> = new Set([550, 551, 553]);

function asSmtpError(e: unknown): SmtpError {
  return (e ?? {}) as SmtpError;
}

function replyText(e: unknown): string {
  const err = asSmtpError(e);
  return (err.response ?? err.message ?? String(e)).toString();
}

function replyCode(err: SmtpError): number | undefined {
  return typeof err.responseCode === "number" ? err.responseCode : undefined;
}

/** nodemailer's pool refusing or dropping a message that never got a connection. */
export function poolClosed(e: unknown): boolean {
  return asSmtpError(e).message === "Connection pool was closed";
}

/** The RFC 3463 enhanced status code in a reply ("550 5.1.1 no such user" → "5.1.1"). */
export function enhancedStatus(reply: string): string | undefined {
  return /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply.trim())?.[1];
}

/**
 * Whether a 5xx reply to RCPT TO says the mailbox does not exist: the enhanced code is 5.1.x
 * (bad mailbox, bad domain, moved, …) when there is one, else the basic code is 550/551/553.
 * Policy (5.7.x), a full mailbox (552, 5.2.2) or a server that cannot take the address's form
 * (500 strict ASCII for a Unicode local part) do not: the address may still be good.
 */
export function mailboxGone(code: number, reply: string): boolean {
  const enhanced = enhancedStatus(reply);
  if (enhanced) {
    const [cls, subject, detail] = enhanced.split(".");
    return cls === "5" && subject === "1" && !SENDER_ADDRESS_DETAILS.has(detail ?? "");
  }
  return MAILBOX_GONE_CODES.has(code);
}

/**
 * No SMTP session came about: nothing was handed over, and every send would fail alike.
 * Refused / unreachable / DNS, a connect or greeting timeout, a close before the greeting (which
 * smtp-pool reports as POOL_GAVE_UP once its requeues ran out), a 5xx greeting.
 */
export function connectionFailed(e: unknown): boolean {
  const err = asSmtpError(e);
  return neverConnected(err) || setupTimedOut(err) || setupRefused(err);
}

/** Refused, unreachable or DNS: the socket never opened. */
function neverConnected(err: SmtpError): boolean {
  if (err.code === "EDNS" || NEVER_CONNECTED.has(err.code ?? "")) return true;
  const wrapped = err.code === "ECONNECTION" || err.code === "ESOCKET";
  return wrapped && NEVER_CONNECTED.has(err.originalCode ?? "");
}

/** A connect or greeting timeout, or a close before the greeting. */
function setupTimedOut(err: SmtpError): boolean {
  if (err.code === "ETIMEDOUT") return SETUP_TIMEOUTS.has(err.timeoutType ?? "");
  return err.code === "ECONNECTION" && err.message === POOL_GAVE_UP;
}

/** A 5xx to the greeting or to a command of session setup. */
function setupRefused(err: SmtpError): boolean {
  const code = replyCode(err);
  return code !== undefined && code >= 500 && SETUP_COMMANDS.has((err.command ?? "").toUpperCase());
}

/** The server refused our credentials (or we have none it accepts). */
export function authFailed(e: unknown): boolean {
  const code = asSmtpError(e).code;
  return code === "EAUTH" || code === "ENOAUTH";
}

/**
 * Whether SMTP may have accepted the message although the send failed. An SMTP reply code
 * (4xx/5xx) is an answer: not accepted. Otherwise it is unknown only once the message itself
 * went out: the transport records whether the message stream was read, which in smtp-connection
 * happens only after the server's 354 to DATA. Without that record (another transport), the
 * errors that come before DATA by construction are ruled out and the rest count as unknown.
 */
export function acceptanceUnknown(e: unknown): boolean {
  const err = asSmtpError(e);
  if (replyCode(err) !== undefined || poolClosed(e)) return false;
  if (connectionFailed(e) || authFailed(e)) return false;
  if (typeof err.handedOver === "boolean") return err.handedOver;
  if (err.code === "ETIMEDOUT") return true;
  return ["ECONNECTION", "ESOCKET", "ECONNRESET", "EPIPE"].includes(err.code ?? "");
}

function classifyReply(err: SmtpError, code: number, reply: string): SmtpFailure {
  if (SLOW_DOWN_CODES.has(code)) return { kind: "slow-down", code, reply };
  // A 4xx to AUTH (454 temporary failure) is the server's trouble, not wrong credentials.
  if (authFailed(err))
    return code >= 500 ? { kind: "auth", code, reply } : { kind: "connection", code, reply };
  if (connectionFailed(err)) return { kind: "connection", code, reply };
  if (code < 500) return { kind: "transient", code, reply };
  const permanent =
    typeof err.permanent === "boolean" ? err.permanent : !NOT_PERMANENT_5XX.has(code);
  if (!permanent) return { kind: "transient", code, reply };
  const rcpt = (err.command ?? "").toUpperCase() === "RCPT TO";
  return { kind: "permanent", code, reply, suppress: rcpt && mailboxGone(code, reply) };
}

export function classify(e: unknown): SmtpFailure {
  const err = asSmtpError(e);
  const reply = replyText(e);
  const code = replyCode(err);
  if (code !== undefined && code >= 400) return classifyReply(err, code, reply);
  if (authFailed(err)) return { kind: "auth", reply };
  if (connectionFailed(err)) return { kind: "connection", reply };
  if (err.code && SOCKET_CODES.has(err.code)) return { kind: "transient", reply };
  return { kind: "error", reply };
}

/**
 * What becomes of a send whose SMTP attempt threw, decided from the error alone (the runtime
 * carries it out: ledger, queue, suppression list). Every outcome says what the attempt's ledger
 * record becomes and how the job ends:
 *  - `unconfirmed`: acceptance unknown, attempts left: marked and retried (the error rethrown).
 *  - `failed`: decided for good (UnrecoverableError). `unconfirmed` when it may have been
 *    delivered all the same; `suppress` when the mailbox does not exist.
 *  - `unclaim`: nothing went out; back to scheduled. `waits` says how the job waits: `restart`
 *    (a shutdown closed the pool: the next worker sends it), `retry` (BullMQ's backoff), or a
 *    queue-wide wait: `slow-down`, `unreachable`, `halt`.
 */
export type FailureOutcome =
  | { state: "unconfirmed"; reason: string; reply: string }
  | {
      state: "failed";
      reason: string;
      reply: string;
      /** The reply is kept on the record (absent for a failure that is not SMTP's answer). */
      response?: string;
      unconfirmed?: true;
      suppress?: { code: number };
    }
  | { state: "unclaim"; waits: "restart"; reply: string }
  | {
      state: "unclaim";
      waits: "retry" | "slow-down" | "unreachable" | "halt";
      reply: string;
      response: string;
      /** The SMTP reply code, when the server answered. */
      code?: number;
      failure: SmtpFailure;
    };

export interface AttemptCount {
  /** Attempts the job has in all. */
  attempts: number;
  /** Whether this attempt is its last. */
  last: boolean;
}

function unknownAcceptance(reply: string, a: AttemptCount): FailureOutcome {
  // Decided on the last attempt: retrying forever would mail it again and again if the server
  // does store it.
  if (a.last)
    return {
      state: "failed",
      reason: `gave up after ${a.attempts} attempts; the last got no answer after the message was handed over, so it may have been delivered`,
      reply,
      response: reply,
      unconfirmed: true,
    };
  return {
    state: "unconfirmed",
    reason:
      "no answer from the mail server after the message was handed over; it may have been delivered, so it is sent again and marked",
    reply,
  };
}

function classifiedOutcome(f: SmtpFailure, a: AttemptCount): FailureOutcome {
  const reply = f.reply;
  switch (f.kind) {
    case "permanent":
      return {
        state: "failed",
        reason: `rejected by the mail server (${f.code})`,
        reply,
        response: reply,
        ...(f.suppress ? { suppress: { code: f.code } } : {}),
      };
    case "slow-down":
      return {
        state: "unclaim",
        reply,
        response: reply,
        waits: "slow-down",
        code: f.code,
        failure: f,
      };
    case "connection":
      return { state: "unclaim", reply, response: reply, waits: "unreachable", failure: f };
    case "auth":
      return { state: "unclaim", reply, response: reply, waits: "halt", failure: f };
    case "transient":
      return a.last
        ? {
            state: "failed",
            reason: `gave up after ${a.attempts} attempts`,
            reply,
            response: reply,
          }
        : { state: "unclaim", reply, response: reply, waits: "retry", failure: f };
    default:
      return { state: "failed", reason: reply, reply };
  }
}

/** The outcome of an SMTP attempt that threw `e` (see FailureOutcome). */
export function failureOutcome(e: unknown, a: AttemptCount): FailureOutcome {
  const reply = (e as Error)?.message ?? String(e);
  if (acceptanceUnknown(e)) return unknownAcceptance(reply, a);
  // Never handed to a connection (shutdown): nothing went out; the restart sends it.
  if (poolClosed(e)) return { state: "unclaim", waits: "restart", reply };
  return classifiedOutcome(classify(e), a);
}
