/**
 * failureOutcome, the SMTP failure taxonomy as data: what the runtime records and how the job
 * ends, for each kind of nodemailer error. The runtime carrying it out against real Redis and a
 * real SMTP server is smtp-failures.test.ts.
 */
import { describe, expect, it } from "vitest";
import { failureOutcome, type SmtpError } from "../../src/worker/smtp-errors.js";

function smtpError(message: string, o: Partial<SmtpError> = {}): SmtpError {
  return Object.assign(new Error(message), o);
}

const FIRST = { attempts: 3, last: false };
const LAST = { attempts: 3, last: true };

describe("failureOutcome", () => {
  it("no answer after the message was handed over: unconfirmed, then failed (still marked) on the last attempt", () => {
    const e = smtpError("Timeout", { code: "ETIMEDOUT", handedOver: true });
    expect(failureOutcome(e, FIRST)).toMatchObject({ state: "unconfirmed", reply: "Timeout" });
    expect(failureOutcome(e, LAST)).toMatchObject({
      state: "failed",
      unconfirmed: true,
      response: "Timeout",
      reason: expect.stringContaining("gave up after 3 attempts"),
    });
  });

  it("a pool closed at shutdown: unclaimed for the restart, nothing recorded as the reply", () => {
    const o = failureOutcome(smtpError("Connection pool was closed"), LAST);
    expect(o).toEqual({ state: "unclaim", waits: "restart", reply: "Connection pool was closed" });
  });

  it("a 550 to RCPT TO fails at once and suppresses the address; one to DATA does not", () => {
    const rcpt = smtpError("550 5.1.1 no such user", {
      responseCode: 550,
      response: "550 5.1.1 no such user",
      command: "RCPT TO",
    });
    expect(failureOutcome(rcpt, FIRST)).toMatchObject({
      state: "failed",
      reason: "rejected by the mail server (550)",
      suppress: { code: 550 },
    });
    const data = smtpError("552 too big", {
      responseCode: 552,
      response: "552 too big",
      command: "DATA",
    });
    const o = failureOutcome(data, FIRST);
    expect(o.state).toBe("failed");
    expect(o).not.toHaveProperty("suppress");
  });

  it("slow-down, connection and auth trouble unclaim the send and make the whole queue wait", () => {
    const slow = smtpError("421 busy", {
      responseCode: 421,
      response: "421 busy",
      command: "MAIL FROM",
    });
    expect(failureOutcome(slow, LAST)).toMatchObject({
      state: "unclaim",
      waits: "slow-down",
      code: 421,
    });
    const refused = smtpError("connect ECONNREFUSED", {
      code: "ECONNECTION",
      originalCode: "ECONNREFUSED",
    });
    expect(failureOutcome(refused, LAST)).toMatchObject({ state: "unclaim", waits: "unreachable" });
    const auth = smtpError("535 bad credentials", {
      code: "EAUTH",
      responseCode: 535,
      response: "535 bad credentials",
      command: "AUTH PLAIN",
    });
    expect(failureOutcome(auth, LAST)).toMatchObject({ state: "unclaim", waits: "halt" });
  });

  it("a transient failure is retried until the last attempt, which fails", () => {
    const e = smtpError("452 try later", {
      responseCode: 452,
      response: "452 try later",
      command: "RCPT TO",
    });
    expect(failureOutcome(e, FIRST)).toMatchObject({
      state: "unclaim",
      waits: "retry",
      response: "452 try later",
    });
    expect(failureOutcome(e, LAST)).toMatchObject({
      state: "failed",
      reason: "gave up after 3 attempts",
      response: "452 try later",
    });
  });

  it("an error that is not SMTP's (a bug) fails without a reply on the record", () => {
    const o = failureOutcome(new TypeError("x is undefined"), FIRST);
    expect(o).toEqual({ state: "failed", reason: "x is undefined", reply: "x is undefined" });
  });
});
