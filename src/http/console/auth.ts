/**
 * The console's one credential: CONVENE_ADMIN_TOKEN. A browser logs in with it once and then
 * carries a session cookie signed by @fastify/cookie (HttpOnly, SameSite=Strict, Secure behind
 * https); the API takes it as `Authorization: Bearer`. The only crypto here is the
 * constant-time compare.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";

export const SESSION_COOKIE = "convene_session";
/** Only the console's requests carry it: not /unsubscribe, and not the API (which takes no cookie). */
export const COOKIE_PATH = "/console";
/** A working day; after it the organizer logs in again. */
export const SESSION_MS = 12 * 60 * 60 * 1000;
/** Shorter tokens are guessable at the rate limit's pace; the console refuses them. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/**
 * Constant-time, whatever the lengths: both sides are hashed to 32 bytes first, since
 * timingSafeEqual needs equal lengths and a length check would leak the token's.
 */
export function tokenMatches(given: unknown, expected: string): boolean {
  if (typeof given !== "string" || !given) return false;
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export function bearerOf(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  const m = typeof h === "string" ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
  return m?.[1];
}

/** The cookie's value is only its expiry; the signature is what makes it a session. */
export function startSession(reply: FastifyReply, nowMs = Date.now()): void {
  reply.setCookie(SESSION_COOKIE, String(nowMs + SESSION_MS), {
    signed: true,
    httpOnly: true,
    sameSite: "strict",
    secure: "auto",
    path: COOKIE_PATH,
    maxAge: SESSION_MS / 1000,
  });
}

export function endSession(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: COOKIE_PATH });
}

export function hasSession(request: FastifyRequest, nowMs = Date.now()): boolean {
  const raw = request.cookies[SESSION_COOKIE];
  if (!raw) return false;
  const { valid, value } = request.unsignCookie(raw);
  return valid && value !== null && Number(value) > nowMs;
}

/** Why the console is off, or undefined when the token allows it. */
export function consoleDisabledReason(token: string | undefined): string | undefined {
  if (!token) return "CONVENE_ADMIN_TOKEN is not set";
  if (token.length < MIN_ADMIN_TOKEN_LENGTH)
    return `CONVENE_ADMIN_TOKEN is shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters`;
  return undefined;
}
