/**
 * The worker's unsubscribe link follows the public URL of convene serve: UNSUBSCRIBE_URL
 * defaults to `<CONVENE_PUBLIC_URL or --public-url>/unsubscribe`, an explicit UNSUBSCRIBE_URL
 * wins, and a public URL that is not http(s) stops every command naming the variable.
 */

import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { publicUrl } from "../../src/cli/serve-options.js";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("UNSUBSCRIBE_URL from the public URL", () => {
  it("defaults to <CONVENE_PUBLIC_URL>/unsubscribe, without a doubled slash", () => {
    for (const url of ["https://lists.example.org", "https://lists.example.org/"]) {
      const c = loadConfig({ CONVENE_PUBLIC_URL: url });
      expect(c.publicUrl).toBe("https://lists.example.org");
      expect(c.unsubscribeUrl).toBe("https://lists.example.org/unsubscribe");
    }
    expect(loadConfig({ CONVENE_PUBLIC_URL: "https://x.test/convene/" }).unsubscribeUrl).toBe(
      "https://x.test/convene/unsubscribe",
    );
  });

  it("a --public-url wins over CONVENE_PUBLIC_URL, and UNSUBSCRIBE_URL over both", () => {
    const env = { CONVENE_PUBLIC_URL: "https://env.test" };
    expect(loadConfig(env, { publicUrl: "https://flag.test" }).unsubscribeUrl).toBe(
      "https://flag.test/unsubscribe",
    );
    expect(
      loadConfig(
        { ...env, UNSUBSCRIBE_URL: "https://own.test/u" },
        { publicUrl: "https://flag.test" },
      ).unsubscribeUrl,
    ).toBe("https://own.test/u");
  });

  it("neither set: no unsubscribe URL (the worker with SMTP_URL refuses; the outbox guesses)", () => {
    const c = loadConfig({ CONVENE_PUBLIC_URL: "" });
    expect(c.unsubscribeUrl).toBeUndefined();
    expect(c.publicUrl).toBeUndefined();
  });

  it.each(["lists.example.org", "ftp://lists.example.org", "not a url"])(
    "%j is a ConfigError naming CONVENE_PUBLIC_URL",
    (value) => {
      expect(() => loadConfig({ CONVENE_PUBLIC_URL: value })).toThrow(ConfigError);
      expect(() => loadConfig({ CONVENE_PUBLIC_URL: value })).toThrow(
        /^CONVENE_PUBLIC_URL must be/,
      );
    },
  );

  it.each([
    ["https://lists.example.org/?src=mail", /query/],
    ["https://lists.example.org/#top", /fragment/],
    ["https://user:pw@lists.example.org", /user name or password/],
  ])("%j, on which the unsubscribe link cannot be built, is a ConfigError", (value, why) => {
    expect(() => loadConfig({ CONVENE_PUBLIC_URL: value })).toThrow(ConfigError);
    expect(() => loadConfig({ CONVENE_PUBLIC_URL: value })).toThrow(why);
  });

  it.each([
    "https://lists.example.org/?src=mail",
    "https://lists.example.org/#top",
    "https://u:p@x.test",
  ])("--public-url %j is refused by the option parser", (value) => {
    expect(() => publicUrl(value)).toThrow(InvalidArgumentError);
  });
});
