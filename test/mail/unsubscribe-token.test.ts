/**
 * The one-click unsubscribe endpoint is public, so its token parser takes attacker input: only
 * the exact form convene issues is accepted (issue 8: extra segments and junk in the base64
 * were ignored, and the address came back as written in the token).
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { unsubscribeToken, verifyUnsubscribeToken } from "../../src/mail/unsubscribe.js";

const SECRET = "a-test-secret-of-at-least-32-characters";
const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64url");
const hmac = (s: string) => createHmac("sha256", SECRET).update(s).digest();

describe("unsubscribe tokens", () => {
  const token = unsubscribeToken("Ann.Lee@District-A.test", SECRET);
  const [payload, mac] = token.split(".") as [string, string];

  it("round-trip to the normalised (lowercased) address", () => {
    expect(verifyUnsubscribeToken(token, SECRET)).toBe("ann.lee@district-a.test");
  });

  it("a token whose payload is not the normalised address is refused", () => {
    // Signed over the lowercased form, as the mac always is, but carrying the mixed-case one.
    const mixed = `${b64("Ann.Lee@District-A.test")}.${b64(hmac("ann.lee@district-a.test"))}`;
    expect(verifyUnsubscribeToken(mixed, SECRET)).toBeUndefined();
  });

  it.each([
    ["an extra segment", `${token}.extra`],
    ["an empty extra segment", `${token}.`],
    ["junk in the payload", `${payload}!!.${mac}`],
    ["junk in the mac", `${payload}.${mac}*`],
    ["base64 padding", `${payload}.${mac}=`],
    ["standard base64 characters", `${payload}.${mac.replace(/-/g, "+").replace(/_/g, "/")}+`],
    ["a truncated mac", `${payload}.${mac.slice(0, -2)}`],
    ["a truncated payload", `${payload.slice(0, -1)}.${mac}`],
    ["no mac", payload],
    ["whitespace", ` ${token}`],
    ["an empty token", ""],
  ])("refuses %s", (_why, forged) => {
    expect(verifyUnsubscribeToken(forged, SECRET)).toBeUndefined();
  });

  it("refuses a mac whose unused final bits differ (non-canonical base64)", () => {
    // 32 bytes are 43 base64url characters; the last one carries 2 bits that decoding drops.
    const last = mac.at(-1) as string;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const i = alphabet.indexOf(last);
    const twin = alphabet[(i & ~3) | ((i + 1) & 3)] as string;
    const forged = `${payload}.${mac.slice(0, -1)}${twin}`;
    expect(Buffer.from(forged.split(".")[1] as string, "base64url")).toEqual(
      Buffer.from(mac, "base64url"),
    );
    expect(verifyUnsubscribeToken(forged, SECRET)).toBeUndefined();
  });

  it("refuses another address's mac, another secret, and a forged payload", () => {
    const other = unsubscribeToken("bob@district-b.test", SECRET);
    expect(verifyUnsubscribeToken(`${payload}.${other.split(".")[1]}`, SECRET)).toBeUndefined();
    expect(verifyUnsubscribeToken(token, `${SECRET}-other`)).toBeUndefined();
    expect(verifyUnsubscribeToken(`${b64("eve@attacker.test")}.${mac}`, SECRET)).toBeUndefined();
  });
});
