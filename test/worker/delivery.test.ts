import { SMTPServer } from "smtp-server";
import { describe, expect, it } from "vitest";
import { createStores, type Stores } from "../../src/store/index.js";
import type { RunningWorker } from "../../src/worker/worker.js";
import {
  deletePrefix,
  dueSoon,
  type EventFixture,
  inProcessWorker,
  letterStep,
  people,
  startSmtp,
  testConfig,
  testHooks,
  uniquePrefix,
  until,
  writeEvent,
} from "./fixture.js";

const hooks = testHooks();
const { cleanups } = hooks;

async function setup(n: number, smtpPolicy?: Parameters<typeof startSmtp>[0]) {
  const smtp = await startSmtp(smtpPolicy);
  return { smtp, ...(await eventFor(n, smtp)) };
}

async function eventFor(n: number, smtp: { url: string; close(): Promise<void> }) {
  const prefix = uniquePrefix();
  const soon = dueSoon(3);
  const fx: EventFixture = writeEvent({
    people: people(n),
    steps: [letterStep()],
    registrations: [soon.registration],
  });
  const stores: Stores = createStores(hooks.redis, prefix);
  const config = testConfig(prefix, smtp.url);
  cleanups.push(
    () => fx.cleanup(),
    () => smtp.close(),
    () => deletePrefix(prefix),
  );
  return { prefix, fx, stores, config, due: soon.due };
}

type Refusal = { code: number; message: string } | undefined;

/**
 * A loopback SMTP server that can refuse MAIL FROM (by the transaction's number) or DATA (by the
 * recipient) — the fixture's server only refuses RCPT TO. Keeps who it accepted mail for.
 */
async function stageServer(o: {
  mailFrom?: (n: number) => Refusal;
  data?: (recipient: string) => Refusal;
}) {
  const accepted: string[] = [];
  let mails = 0;
  const fail = (r: NonNullable<Refusal>) =>
    Object.assign(new Error(r.message), { responseCode: r.code });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onMailFrom(_address, _session, cb) {
      const r = o.mailFrom?.(++mails);
      cb(r ? fail(r) : undefined);
    },
    onData(stream, session, cb) {
      const to = session.envelope.rcptTo[0]?.address ?? "";
      stream.on("data", () => undefined);
      stream.on("end", () => {
        const r = o.data?.(to);
        if (r) return cb(fail(r));
        accepted.push(to);
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}?maxConnections=5`,
    accepted,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function start(w: RunningWorker): RunningWorker {
  cleanups.push(() => w.close());
  return w;
}

describe("delivery of one step", () => {
  it("reaches every recipient exactly once, at its due time, and records sent", async () => {
    const { smtp, fx, stores, config, due } = await setup(25);
    const w = start(inProcessWorker({ paths: [fx.dir], config }));
    await w.ready;
    // A second scheduler tick (a restart or a second scheduler) must not add anything.
    await w.scheduler?.tick();
    await smtp.waitFor(25);
    await until("ledger all sent", async () => {
      const all = await stores.ledger.all("mini");
      return [...all.values()].filter((r) => r.state === "sent").length === 25;
    });

    const to = smtp.received.map((r) => r.to).sort();
    expect(new Set(to).size).toBe(25);
    expect(to).toEqual(
      people(25)
        .map((p) => p.email)
        .sort(),
    );
    const ids = new Set(smtp.received.map((r) => r.sendId));
    expect(ids.size).toBe(25);
    for (const r of smtp.received) {
      expect(r.mail.subject).toBe("Mini letter");
      expect(r.mail.messageId).toBe(`<${r.sendId}@mini.test>`);
      // Delayed jobs fire at their time, not earlier.
      expect(r.mail.date?.getTime() ?? 0).toBeGreaterThanOrEqual(due.toMillis() - 1000);
    }
    const all = await stores.ledger.all("mini");
    expect(all.size).toBe(25);
    for (const [id, rec] of all) {
      expect(ids.has(id)).toBe(true);
      expect(rec.attempts).toBe(1);
      expect(rec.response).toMatch(/^250/);
      expect(rec.messageId).toBe(`<${id}@mini.test>`);
    }
    expect(await stores.ledger.pending("mini")).toEqual(new Map());
  });

  it("a 550 recipient ends failed and suppressed, the others are delivered", async () => {
    const bad = people(10)[3]?.email as string;
    const { smtp, fx, stores, config } = await setup(10, (addr) =>
      addr === bad ? { code: 550, message: "5.1.1 No such user here" } : undefined,
    );
    start(inProcessWorker({ paths: [fx.dir], config }));
    await smtp.waitFor(9);
    await until("the 550 send is failed", async () => {
      const all = await stores.ledger.all("mini");
      return [...all.values()].some((r) => r.state === "failed");
    });
    const all = await stores.ledger.all("mini");
    const failed = [...all.values()].filter((r) => r.state === "failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]?.recipient).toBe(bad);
    expect(failed[0]?.attempts).toBe(1);
    expect(failed[0]?.response).toMatch(/^550 5\.1\.1 No such user here/);
    expect([...all.values()].filter((r) => r.state === "sent")).toHaveLength(9);
    expect(smtp.received.map((r) => r.to)).not.toContain(bad);
    const sup = await stores.suppressions.get(bad.toUpperCase());
    expect(sup?.reason).toMatch(/SMTP 550/);
  });

  it("a server answering 451 for a while, then 250, ends with everything delivered once", async () => {
    let refusals = 0;
    const { smtp, fx, stores, config } = await setup(12, () => {
      if (refusals < 15) {
        refusals++;
        return { code: 451, message: "4.7.1 Try again later" };
      }
      return undefined;
    });
    start(inProcessWorker({ paths: [fx.dir], config, settings: { slowDownMs: 300 } }));
    await smtp.waitFor(12);
    await until("all sent", async () => {
      const all = await stores.ledger.all("mini");
      return [...all.values()].filter((r) => r.state === "sent").length === 12;
    });
    expect(refusals).toBe(15);
    expect(new Set(smtp.received.map((r) => r.to)).size).toBe(12);
    expect(smtp.received).toHaveLength(12);
    const all = await stores.ledger.all("mini");
    // Some sends needed more than one attempt, and none was given up.
    expect(Math.max(...[...all.values()].map((r) => r.attempts))).toBeGreaterThan(1);
  });

  it("a transient 4xx (not slow-down) is retried with backoff; exhausted retries end failed, not suppressed", async () => {
    const flaky = people(3)[0]?.email as string;
    const dead = people(3)[1]?.email as string;
    let flakyTries = 0;
    const { smtp, fx, stores, config } = await setup(3, (addr) => {
      if (addr === flaky && ++flakyTries <= 2) return { code: 452, message: "4.2.2 Mailbox full" };
      if (addr === dead) return { code: 452, message: "4.2.2 Mailbox full" };
      return undefined;
    });
    start(inProcessWorker({ paths: [fx.dir], config, settings: { attempts: 3 } }));
    await smtp.waitFor(2);
    await until("the always-refused send is failed", async () => {
      const rec = [...(await stores.ledger.all("mini")).values()].find((r) => r.recipient === dead);
      return rec?.state === "failed";
    });
    const all = [...(await stores.ledger.all("mini")).values()];
    const f = all.find((r) => r.recipient === flaky);
    const d = all.find((r) => r.recipient === dead);
    expect(f?.state).toBe("sent");
    expect(f?.attempts).toBe(3);
    expect(d?.attempts).toBe(3);
    expect(d?.reason).toMatch(/gave up after 3 attempts/);
    expect(d?.response).toMatch(/^452/);
    expect(await stores.suppressions.get(dead)).toBeUndefined();
  });
});

describe("which SMTP failures are permanent, and which suppress the address", () => {
  it("a 503 (bad sequence of commands) to RCPT TO is retried, delivered, and suppresses nothing", async () => {
    const odd = people(4)[2]?.email as string;
    let oddTries = 0;
    const { smtp, fx, stores, config } = await setup(4, (addr) =>
      addr === odd && ++oddTries === 1
        ? { code: 503, message: "5.5.1 Bad sequence of commands" }
        : undefined,
    );
    start(inProcessWorker({ paths: [fx.dir], config }));
    await smtp.waitFor(4, 20_000);
    await until("all sent", async () => {
      const all = await stores.ledger.all("mini");
      return [...all.values()].filter((r) => r.state === "sent").length === 4;
    });
    const rec = [...(await stores.ledger.all("mini")).values()].find((r) => r.recipient === odd);
    expect(rec?.attempts).toBe(2);
    expect(smtp.received.map((r) => r.to).sort()).toEqual(
      people(4)
        .map((p) => p.email)
        .sort(),
    );
    expect(await stores.suppressions.list()).toEqual([]);
  });

  it("a 554 to DATA (the message refused) fails that send at once without suppressing the address", async () => {
    const refused = people(5)[1]?.email as string;
    const smtp = await stageServer({
      data: (to) =>
        to === refused ? { code: 554, message: "5.7.1 Message content rejected" } : undefined,
    });
    const { fx, stores, config } = await eventFor(5, smtp);
    start(inProcessWorker({ paths: [fx.dir], config }));
    await until("one failed and four sent", async () => {
      const all = [...(await stores.ledger.all("mini")).values()];
      return (
        all.filter((r) => r.state === "sent").length === 4 &&
        all.filter((r) => r.state === "failed").length === 1
      );
    });
    const failed = [...(await stores.ledger.all("mini")).values()].find(
      (r) => r.state === "failed",
    );
    expect(failed?.recipient).toBe(refused);
    expect(failed?.attempts).toBe(1);
    expect(failed?.response).toMatch(/^554 5\.7\.1 Message content rejected/);
    expect(smtp.accepted).not.toContain(refused);
    expect(smtp.accepted).toHaveLength(4);
    expect(await stores.suppressions.get(refused)).toBeUndefined();
    expect(await stores.suppressions.list()).toEqual([]);
  });

  it("a 550 to MAIL FROM (the sender refused) fails that send without suppressing anyone", async () => {
    const smtp = await stageServer({
      mailFrom: (n) => (n === 1 ? { code: 550, message: "5.7.1 Sender not allowed" } : undefined),
    });
    const { fx, stores, config } = await eventFor(5, smtp);
    start(inProcessWorker({ paths: [fx.dir], config }));
    await until("one failed and four sent", async () => {
      const all = [...(await stores.ledger.all("mini")).values()];
      return (
        all.filter((r) => r.state === "sent").length === 4 &&
        all.filter((r) => r.state === "failed").length === 1
      );
    });
    const failed = [...(await stores.ledger.all("mini")).values()].find(
      (r) => r.state === "failed",
    );
    expect(failed?.attempts).toBe(1);
    expect(failed?.response).toMatch(/^550 5\.7\.1 Sender not allowed/);
    expect(smtp.accepted).toHaveLength(4);
    expect(smtp.accepted).not.toContain(failed?.recipient);
    expect(await stores.suppressions.list()).toEqual([]);
  });
});
