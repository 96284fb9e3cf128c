/** Environment parsing (zod schemas in src/config.ts and src/worker/settings.ts). */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { loadWorkerSettings, smtpTimeouts } from "../../src/worker/settings.js";

describe("loadConfig", () => {
  it("treats an empty variable as unset", () => {
    expect(
      loadConfig({ REDIS_URL: "", CONVENE_PREFIX: "", OUTBOX_DIR: "", UNSUBSCRIBE_URL: "" }),
    ).toEqual(loadConfig({}));
    expect(loadConfig({}).redisUrl).toBe("redis://127.0.0.1:6379");
    expect("unsubscribeUrl" in loadConfig({ UNSUBSCRIBE_URL: "" })).toBe(false);
  });

  it("reads SEND_RATE as a positive number, anything else as unlimited (0)", () => {
    expect(loadConfig({ SEND_RATE: "2.5" }).sendRate).toBe(2.5);
    for (const bad of ["", "-1", "fast", "Infinity"])
      expect(loadConfig({ SEND_RATE: bad }).sendRate, bad).toBe(0);
  });

  it("stops on a bad SMTP_URL with the organizer's message, password redacted", () => {
    expect(() => loadConfig({ SMTP_URL: "http://u:hunter2@relay.test" })).toThrow(ConfigError);
    expect(() => loadConfig({ SMTP_URL: "http://u:hunter2@relay.test" })).toThrow(
      /^SMTP_URL must start with smtp:\/\/ or smtps:\/\/ .*not http:\/\/\*\*\*:\*\*\*@relay\.test\/$/,
    );
    expect(loadConfig({ SMTP_URL: "smtps://u:p@relay.test:465" }).smtpUrl).toBe(
      "smtps://u:p@relay.test:465",
    );
  });
});

describe("loadWorkerSettings", () => {
  it("falls back to the default for a value that is not a number ≥ 0", () => {
    const dflt = loadWorkerSettings({});
    for (const bad of ["", "-5", "soon"])
      expect(loadWorkerSettings({ CONVENE_BACKOFF_MS: bad }).backoffMs, bad).toBe(dflt.backoffMs);
    expect(loadWorkerSettings({ CONVENE_BACKOFF_MS: "0" }).backoffMs).toBe(0);
  });

  it("keeps counts whole and above their floor", () => {
    const s = loadWorkerSettings({
      CONVENE_ATTEMPTS: "0",
      CONVENE_CONCURRENCY: "2.7",
      CONVENE_LOCK_MS: "5",
    });
    expect([s.attempts, s.concurrency, s.lockMs]).toEqual([1, 2, 1_000]);
  });

  it("reads CONVENE_HORIZON as a duration, and refuses one that is not", () => {
    expect(loadWorkerSettings({ CONVENE_HORIZON: "2h" }).horizonMs).toBe(7_200_000);
    expect(() => loadWorkerSettings({ CONVENE_HORIZON: "soon" })).toThrow(
      'CONVENE_HORIZON "soon" is not a duration like 30m, 1h or 1d',
    );
  });

  it("reads the SMTP timeouts", () => {
    expect(smtpTimeouts({ CONVENE_SMTP_SOCKET_TIMEOUT_MS: "5" })).toEqual({
      connectMs: 10_000,
      greetingMs: 10_000,
      socketMs: 5,
    });
  });
});
