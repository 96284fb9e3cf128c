import { z } from "zod";
import { lenientNumber as num } from "../config.js";

/** SMTP timeouts, `CONVENE_SMTP_CONNECT_TIMEOUT_MS` / `_GREETING_` / `_SOCKET_`. */
export interface SmtpTimeouts {
  /** Establishing the TCP (or TLS) connection. */
  connectMs: number;
  /** From connecting to the server's 220 greeting. */
  greetingMs: number;
  /** Silence on an open connection (waiting for any reply, 250 after DATA included). */
  socketMs: number;
}

const timeoutsSchema = z.object({
  CONVENE_SMTP_CONNECT_TIMEOUT_MS: num(10_000),
  CONVENE_SMTP_GREETING_TIMEOUT_MS: num(10_000),
  CONVENE_SMTP_SOCKET_TIMEOUT_MS: num(60_000),
});

export function smtpTimeouts(env: NodeJS.ProcessEnv = process.env): SmtpTimeouts {
  const e = timeoutsSchema.parse(env);
  return {
    connectMs: e.CONVENE_SMTP_CONNECT_TIMEOUT_MS,
    greetingMs: e.CONVENE_SMTP_GREETING_TIMEOUT_MS,
    socketMs: e.CONVENE_SMTP_SOCKET_TIMEOUT_MS,
  };
}
