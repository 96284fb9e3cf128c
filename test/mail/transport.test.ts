import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { DateTime } from "luxon";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { createMailer } from "../../src/mail/transport.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { ROOT } from "../support/cli.js";

interface Received {
  from: string;
  to: string[];
  raw: Buffer;
}

const received: Received[] = [];
let server: SMTPServer;
let port = 0;

beforeAll(async () => {
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onRcptTo(address, _session, cb) {
      // A permanent refusal for one address, to see the error pass through unchanged.
      if (address.address.startsWith("refused@")) {
        const err = new Error("5.1.1 mailbox unavailable") as Error & { responseCode: number };
        err.responseCode = 550;
        cb(err);
      } else cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const def = loadEventOrThrow(join(ROOT, "test", "fixtures", "mail", "seed-letter"), KINDS);
const sends = plan(def, def.registrations, DateTime.fromISO("2017-07-01T00:00:00Z"));

describe("SMTP transport (a real smtp-server on loopback)", () => {
  it("delivers composed messages through a pooled connection", async () => {
    const config = loadConfig({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    const mailer = createMailer(config);
    expect(mailer.kind).toBe("smtp");
    const batch = sends.filter((s) => s.step === "invitation-letter" || s.step === "reminder-7d");
    try {
      const infos = await Promise.all(
        batch.map(async (s) => mailer.send(await composeMessage(def, s, { config }))),
      );
      for (const [i, info] of infos.entries()) {
        const s = batch[i];
        expect(info.messageId).toBe(`<${s?.id}@cdefoundation.org>`);
        expect(info.accepted).toEqual([s?.recipient]);
        expect(info.rejected).toEqual([]);
        expect(info.response).toMatch(/^250/);
      }
    } finally {
      await mailer.close();
    }
    const letter = batch[0];
    // By Message-ID: the same superintendent also gets the reminder, which may arrive first.
    const got = received.find((r) => r.raw.includes(`<${letter?.id}@`));
    expect(got?.from).toBe("lmi@cdefoundation.org");
    const parsed = await simpleParser(got?.raw ?? Buffer.alloc(0));
    expect(parsed.messageId).toBe(`<${letter?.id}@cdefoundation.org>`);
    expect(parsed.text).toMatch(/Dear .+:/);
    expect(parsed.html).toMatch(/Dear .+:/);
  });

  it("passes a 5xx refusal through unchanged, with its responseCode", async () => {
    const config = loadConfig({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    const mailer = createMailer(config);
    const s = sends.find((x) => x.step === "reminder-7d");
    if (!s) throw new Error("no reminder planned");
    const msg = await composeMessage(def, s, { config });
    msg.to = "refused@example.org";
    try {
      await expect(mailer.send(msg)).rejects.toMatchObject({ responseCode: 550 });
    } finally {
      await mailer.close();
    }
  });

  it("passes a refused connection through with its code", async () => {
    const config = loadConfig({ SMTP_URL: "smtp://127.0.0.1:1" });
    const mailer = createMailer(config);
    const s = sends[0];
    if (!s) throw new Error("no send planned");
    try {
      await expect(mailer.send(await composeMessage(def, s, { config }))).rejects.toMatchObject({
        code: expect.stringMatching(/ECONNREFUSED|ESOCKET|ECONNECTION/),
      });
    } finally {
      await mailer.close();
    }
  });
});
