import { SMTPServer } from "smtp-server";
import { describe, expect, it } from "vitest";
import { createStores } from "../../src/store/index.js";
import type { RunningWorker } from "../../src/worker/worker.js";
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

interface Delivery {
  to: string;
  /** When the server had the whole message (end of DATA), epoch ms. */
  at: number;
}

/**
 * A loopback SMTP server that answers 451 to the very first RCPT TO and accepts everything after,
 * keeping when each message arrived (the fixture's server keeps no times).
 */
async function throttlingServer() {
  const deliveries: Delivery[] = [];
  let refusedAt: number | undefined;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onRcptTo(_address, _session, cb) {
      if (refusedAt === undefined) {
        refusedAt = Date.now();
        const err = new Error("4.7.1 Too many messages, slow down") as Error & {
          responseCode: number;
        };
        err.responseCode = 451;
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      stream.on("data", () => undefined);
      stream.on("end", () => {
        deliveries.push({ to: session.envelope.rcptTo[0]?.address ?? "", at: Date.now() });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}?maxConnections=5`,
    deliveries,
    refusedAt: () => refusedAt,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("slow-down across worker processes", () => {
  it("a 451 pauses every worker on the queue until the slow-down has passed, then all is delivered", async () => {
    const slowDownMs = 5_000;
    const waveGapS = 3;
    const ps = people(11, (i) => (i === 0 ? "first" : "rest"));
    const first = dueSoon(3, "first");
    const rest = { team: "rest", at: first.registration.at.plus({ seconds: waveGapS }) };
    const restDue = first.due.plus({ seconds: waveGapS }).toMillis();
    const fx = writeEvent({
      people: ps,
      steps: [letterStep()],
      registrations: [first.registration, rest],
    });
    const prefix = uniquePrefix();
    const smtp = await throttlingServer();
    cleanups.push(
      () => fx.cleanup(),
      () => smtp.close(),
      () => deletePrefix(prefix),
    );
    const config = testConfig(prefix, smtp.url, { sendRate: 0 });
    const settings = { slowDownMs, sendRate: 0 };
    const a = inProcessWorker({ paths: [fx.dir], config, settings });
    const b = inProcessWorker({ paths: [fx.dir], config, settings, scheduler: false });
    const workers: RunningWorker[] = [a, b];
    cleanups.push(() => Promise.all(workers.map((w) => w.close())).then(() => undefined));
    await a.ready;

    await until("all 11 delivered", () => smtp.deliveries.length >= 11, 60_000);
    const refusedAt = smtp.refusedAt();
    expect(refusedAt).toBeDefined();
    // Precondition of the design: the 451 came before the second wave was due, so no send was
    // in flight anywhere when the queue was slowed down.
    expect(refusedAt as number).toBeLessThan(restDue);

    // The slow-down is 5 s; nothing may arrive in the first 4 s after the 451, from either
    // worker (1 s of margin for timers and Redis round trips).
    const tooEarly = smtp.deliveries.filter(
      (d) => d.at >= (refusedAt as number) && d.at < (refusedAt as number) + slowDownMs - 1_000,
    );
    expect(tooEarly).toEqual([]);

    // Everything is delivered in the end, exactly once, and the ledger says so.
    const stores = createStores(hooks.redis, prefix);
    await until("ledger all sent", async () => {
      const all = await stores.ledger.all("mini");
      return [...all.values()].filter((r) => r.state === "sent").length === 11;
    });
    expect(smtp.deliveries.map((d) => d.to).sort()).toEqual(ps.map((p) => p.email).sort());
    const firstRec = [...(await stores.ledger.all("mini")).values()].find(
      (r) => r.recipient === ps[0]?.email,
    );
    expect(firstRec?.attempts).toBe(2);
  });
});
