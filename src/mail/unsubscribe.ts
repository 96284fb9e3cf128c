/**
 * One-click unsubscribe tokens (RFC 8058). A token carries the address and an HMAC of it under
 * `UNSUBSCRIBE_SECRET`, so the unsubscribe endpoint needs no database lookup to know whom a
 * click is for, and nobody can unsubscribe an address they did not receive mail at.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { organizerDomain } from "../calendar/uid.js";
import type { Config } from "../config.js";
import type { EventDefinition } from "../model/types.js";

function mac(address: string, secret: string): Buffer {
  return createHmac("sha256", secret).update(address.trim().toLowerCase()).digest();
}

/** `<base64url(address)>.<base64url(hmac)>`: URL- and mail-subject-safe. */
export function unsubscribeToken(address: string, secret: string): string {
  const a = Buffer.from(address.trim().toLowerCase(), "utf8").toString("base64url");
  return `${a}.${mac(address, secret).toString("base64url")}`;
}

/** The address a token was issued for, or undefined when it was not signed with `secret`. */
export function verifyUnsubscribeToken(token: string, secret: string): string | undefined {
  const [a, m] = token.split(".");
  if (!a || !m) return undefined;
  const address = Buffer.from(a, "base64url").toString("utf8");
  const given = Buffer.from(m, "base64url");
  const want = mac(address, secret);
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
