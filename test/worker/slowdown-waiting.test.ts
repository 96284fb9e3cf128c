import { SMTPServer } from "smtp-server";
import { describe, expect, it } from "vitest";
import {
  deletePrefix,
  dueSoon,
  inProcessWorker,
  letterStep,
  people,
  testConfig,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "./fixture.js";

const hooks = testHooks();
const { cleanups } = hooks;

/** Answers 421 to every MAIL FROM until `accept()`, counting the MAIL FROMs it saw. */
async function busyServer() {
  let accepting = false;
  let mailFroms = 0;
  let delivered = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onMailFrom(_address, _session, cb) {
      mailFroms++;
      if (accepting) return cb();
      const err = new Error("4.3.2 Too busy, try later") as Error & { responseCode: number };
      err.responseCode = 421;
      cb(err);
    },
    onData(stream, _session, cb) {
      stream.on("data", () => undefined);
      stream.on("end", () => {
        delivered++;
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}?maxConnections=2`,
    mailFroms: () => mailFroms,
    delivered: () => delivered,
    accept: () => {
      accepting = true;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("a slow-down and the sends a worker already holds", () => {
  it("jobs waiting for a pooled connection do not go to the server while the queue is slowed down", async () => {
    const fx = writeEvent({
      people: people(20),
      steps: [letterStep()],
      registrations: [dueSoon(2).registration],
    });
    const prefix = uniquePrefix();
    const smtp = await busyServer();
    cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix),
    );
    // Ten jobs fetched at once, two SMTP connections: eight wait for a slot at every moment.
    const w = inProcessWorker({
      paths: [fx.dir],
      config: testConfig(prefix, smtp.url, { sendRate: 0 }),
      settings: { slowDownMs: 1_000, concurrency: 10, sendRate: 0 },
    });
    cleanups.push(() => w.close());
    await w.ready;
    await until("the first 421", () => smtp.mailFroms() > 0, 30_000);
    const start = smtp.mailFroms();
    await new Promise((r) => setTimeout(r, 4_000));
    const during = smtp.mailFroms() - start;
    // Four pauses of 1 s: a round each, of at most one send per connection, plus the round in
    // flight. Held jobs that ignored the pause made about ten a round (concurrency), 40+ here.
    expect(during).toBeLessThanOrEqual(5 * 2 * 2);
    smtp.accept();
    await until("all 20 delivered", () => smtp.delivered() >= 20, 60_000);
    expect(smtp.delivered()).toBe(20);
  });
});
