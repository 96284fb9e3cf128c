/**
 * One-click unsubscribe tokens (RFC 8058). A token carries the address and an HMAC of it under
 * `UNSUBSCRIBE_SECRET`, so the unsubscribe endpoint needs no database lookup to know whom a
 * click is for, and nobody can unsubscribe an address they did not receive mail at.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { organizerDomain } from "../calendar/uid.js";
import type { Config } from "../config.js";
import type { EventDefinition } from "../model/types.js";

/** Addresses are compared case-insensitively everywhere; a token names one form only. */
function normalise(address: string): string {
  return address.trim().toLowerCase();
}

function mac(address: string, secret: string): Buffer {
  return createHmac("sha256", secret).update(normalise(address)).digest();
}

/** `<base64url(address)>.<base64url(hmac)>`: URL- and mail-subject-safe. */
export function unsubscribeToken(address: string, secret: string): string {
  const a = Buffer.from(normalise(address), "utf8").toString("base64url");
  return `${a}.${mac(address, secret).toString("base64url")}`;
}

const BASE64URL_RE = /^[A-Za-z0-9_-]+$/;

/**
 * Decodes only the unpadded base64url that convene writes. Node's decoder skips characters
 * outside the alphabet and ignores the unused low bits of the last character, so many strings
 * decode to the same bytes; re-encoding and comparing leaves exactly one spelling per token.
 */
function strictBase64url(s: string): Buffer | undefined {
  if (!BASE64URL_RE.test(s)) return undefined;
  const bytes = Buffer.from(s, "base64url");
  return bytes.toString("base64url") === s ? bytes : undefined;
}

/** Decoded bytes as text, only when they are valid UTF-8 (a lossy decode could alias another address). */
function utf8(bytes: Buffer): string | undefined {
  const text = bytes.toString("utf8");
  return Buffer.from(text, "utf8").equals(bytes) ? text : undefined;
}

/**
 * The normalised address a token was issued for, or undefined when it is not exactly a token
 * convene issued under `secret`. The endpoint is public, so anything else (extra segments,
 * other spellings of the same bytes, an address in a form convene never signs) is refused.
 */
export function verifyUnsubscribeToken(token: string, secret: string): string | undefined {
  const parts = token.split(".");
  if (parts.length !== 2) return undefined;
  const payload = strictBase64url(parts[0] as string);
  const given = strictBase64url(parts[1] as string);
  if (!payload || !given) return undefined;
  const address = utf8(payload);
  if (address === undefined || address === "" || address !== normalise(address)) return undefined;
  const want = mac(address, secret);
  // timingSafeEqual needs equal lengths; the length of an HMAC-SHA256 is no secret.
  return given.length === want.length && timingSafeEqual(given, want) ? address : undefined;
}

export interface UnsubscribeLinks {
  /** The https one-click link (footer link and List-Unsubscribe). */
  url: string;
  /** The mailto fallback, with the token in the subject. */
  mailto: string;
}

/**
 * Without `UNSUBSCRIBE_URL` the https link points at `https://<organizer domain>/unsubscribe`:
 * RFC 8058 requires an https URI, and the organizer's own site is the least surprising host.
 */
export function unsubscribeLinks(
  address: string,
  o: { secret: string; baseUrl?: string; domain: string; mailbox: string },
): UnsubscribeLinks {
  const token = unsubscribeToken(address, o.secret);
  const u = new URL(o.baseUrl ?? `https://${o.domain}/unsubscribe`);
  u.searchParams.set("token", token);
  const mailto = `mailto:${o.mailbox}?subject=${encodeURIComponent(`unsubscribe ${token}`)}`;
  return { url: u.href, mailto };
}

/** The links for one address of an event, under the configured secret and base URL. */
export function unsubscribeFor(
  def: EventDefinition,
  address: string,
  config: Pick<Config, "unsubscribeSecret" | "unsubscribeUrl">,
): UnsubscribeLinks {
  return unsubscribeLinks(address, {
    secret: config.unsubscribeSecret,
    ...(config.unsubscribeUrl ? { baseUrl: config.unsubscribeUrl } : {}),
    domain: organizerDomain(def.event),
    mailbox: def.event.organizer.email,
  });
}

/**
 * The RFC 2369 / RFC 8058 header pair, built only here so the header and the footer link
 * (both from the same links) can never disagree.
 */
export function unsubscribeHeaders(links: UnsubscribeLinks): Record<string, string> {
  return {
    "List-Unsubscribe": `<${links.mailto}>, <${links.url}>`,
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
  };
}
