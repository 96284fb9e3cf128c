import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import type { Config } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { createMailer } from "../../src/mail/transport.js";
import { createStores, type Stores } from "../../src/store/index.js";
import type { LedgerRecord } from "../../src/store/ledger.js";
import { DefinitionCache } from "../../src/worker/definitions.js";
import type { Composer } from "../../src/worker/deps.js";
import { createLogger } from "../../src/worker/logger.js";
import { EventQueues } from "../../src/worker/queue.js";
import { createProcessor } from "../../src/worker/runtime.js";
import {
  convene,
  deletePrefix,
  dueSoon,
  inProcessWorker,
  letterStep,
  people,
  REDIS_URL,
  spawnWorker,
  testConfig,
  testHooks,
  testSettings,
  uniquePrefix,
  until,
  writeEvent,
} from "./fixture.js";

const hooks = testHooks();
const { cleanups, children } = hooks;

/** What the relay does with the n-th message (1-based) once its data is in. */
type DataPolicy = (n: number) => { holdMs?: number; reject?: { code: number; message: string } };

/** A relay that stores each message, then answers (late, or with an error) per `policy`. */
async function relay(policy: DataPolicy, query = "maxConnections=5") {
  const received: { to: string; mail: ParsedMail }[] = [];
  let n = 0;
  let current = policy;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, _session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", async () => {
        const what = current(++n);
        if (what.reject) {
          const err = new Error(what.reject.message) as Error & { responseCode: number };
          err.responseCode = what.reject.code;
          return cb(err);
        }
        // Stored before the reply: if the 250 never reaches the client, the message is still here.
        const mail = await simpleParser(Buffer.concat(chunks));
        const to = (Array.isArray(mail.to) ? mail.to[0] : mail.to)?.value[0]?.address ?? "";
        received.push({ to, mail });
        if (what.holdMs) setTimeout(() => cb(), what.holdMs);
        else cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.server.address() as { port: number }).port;
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return {
    url: `smtp://127.0.0.1:${port}?${query}`,
    received,
    setPolicy(p: DataPolicy) {
      current = p;
    },
    counts() {
      const m = new Map<string, number>();
      for (const r of received) m.set(r.to, (m.get(r.to) ?? 0) + 1);
      return m;
    },
  };
}

async function ledger(prefix: string): Promise<LedgerRecord[]> {
  return [...(await createStores(hooks.redis, prefix).ledger.all("mini")).values()];
}

async function statusCli(dir: string, prefix: string, extra: string[]) {
  return convene(["status", dir, "--failures", ...extra], prefix);
}

function setup(n: number, steps?: object[]) {
  const prefix = uniquePrefix();
  const soon = dueSoon(2);
  const fx = writeEvent({
    people: people(n),
    steps: steps ?? [letterStep()],
    registrations: [soon.registration],
  });
  cleanups.push(
    () => fx.cleanup(),
    () => deletePrefix(prefix),
  );
  return { prefix, fx };
}

describe("the unconfirmed policy", () => {
  it("SIGTERM past shutdownMs while the relay holds its 250: after a restart everyone has the message, and only marked sends can be duplicates", async () => {
    const { prefix, fx } = setup(10);
    const smtp = await relay(() => ({ holdMs: 5_000 }));
    // Concurrency 10 over a pool of 5: half the sends wait for a connection.
    const env = {
      REDIS_URL,
      CONVENE_PREFIX: prefix,
      SMTP_URL: smtp.url,
      CONVENE_SHUTDOWN_MS: "300",
      CONVENE_LOCK_MS: "1000",
      CONVENE_CONCURRENCY: "10",
    };
    const first = spawnWorker(children, [fx.dir], env);
    await until("5 messages in the relay, their 250 held", () => smtp.received.length >= 5, 15_000);
    first.kill("SIGTERM");
    await new Promise((r) => first.once("exit", r));
    const claimedAtShutdown = (await ledger(prefix)).filter((r) => r.state === "sending").length;
    // Only sends handed to a connection were claimed: the waiting ones stayed scheduled.
    expect(claimedAtShutdown).toBeLessThanOrEqual(5);

    smtp.setPolicy(() => ({}));
    const second = spawnWorker(children, [fx.dir], env);
    await until(
      "all 10 sent",
      async () => (await ledger(prefix)).filter((r) => r.state === "sent").length === 10,
      15_000,
    );
    second.kill("SIGTERM");
    const recs = await ledger(prefix);
    const counts = smtp.counts();
    const marked = new Set(recs.filter((r) => r.unconfirmed).map((r) => r.recipient));
    // Never lost: every recipient received it at least once.
    for (const p of people(10)) expect(counts.get(p.email) ?? 0).toBeGreaterThanOrEqual(1);
    // A duplicate only where the ledger says the first attempt's acceptance was unknown.
    for (const [to, c] of counts) if (c > 1) expect(marked.has(to)).toBe(true);
    expect(marked.size).toBe(claimedAtShutdown);

    const out = JSON.parse(await statusCli(fx.dir, prefix, ["--json"])) as {
      steps: { planned: number; states: Record<string, number> }[];
      failures: { state: string; recipient: string; reason: string }[];
    };
    expect(out.steps[0]?.planned).toBe(10);
    expect(out.steps[0]?.states.sent).toBe(10);
    expect(out.failures.map((f) => f.recipient).sort()).toEqual([...marked].sort());
    for (const f of out.failures) expect(f.reason).toMatch(/sent, possibly twice/);
  }, 40_000);

  it("the relay stores the message but its 250 is lost (socket timeout): sent again, ends sent and marked, and status lists it", async () => {
    const { prefix, fx } = setup(1);
    // The first 250 comes after nodemailer's 1 s socket timeout; later ones at once.
    const smtp = await relay(
      (n) => (n === 1 ? { holdMs: 2_500 } : {}),
      "maxConnections=5&socketTimeout=1000",
    );
    const w = inProcessWorker({
      paths: [fx.dir],
      config: testConfig(prefix, smtp.url),
      settings: { attempts: 3 },
    });
    cleanups.push(() => w.close());
    await until(
      "the send decided",
      async () => (await ledger(prefix)).some((r) => r.state === "sent" || r.state === "failed"),
      15_000,
    );
    const [rec] = await ledger(prefix);
    expect(rec?.state).toBe("sent");
    expect(rec?.unconfirmed).toBe(1);
    expect(rec?.attempts).toBe(2);
    expect(smtp.received).toHaveLength(2);
    const text = await statusCli(fx.dir, prefix, []);
    expect(text).toMatch(/sent\s+letter\s+person00000@people\.test\s+sent, possibly twice/);
  }, 20_000);

  it("a 4xx reply to the message proves it was not accepted: retried without the marker", async () => {
    const { prefix, fx } = setup(1);
    const smtp = await relay((n) =>
      n === 1 ? { reject: { code: 452, message: "Insufficient system storage" } } : {},
    );
    const w = inProcessWorker({
      paths: [fx.dir],
      config: testConfig(prefix, smtp.url),
      settings: { attempts: 3 },
    });
    cleanups.push(() => w.close());
    await until(
      "the send decided",
      async () => (await ledger(prefix)).some((r) => r.state === "sent" || r.state === "failed"),
      15_000,
    );
    const [rec] = await ledger(prefix);
    expect(rec?.state).toBe("sent");
    expect(rec?.attempts).toBe(2);
    expect(rec?.unconfirmed).toBeUndefined();
    expect(smtp.received).toHaveLength(1);
    expect(await statusCli(fx.dir, prefix, [])).toMatch(/No failed, missed or unconfirmed sends/);
  }, 20_000);
});

/** A processor of this process on the real stores, and the job the scheduler queued for it. */
async function processorFor(o: {
  prefix: string;
  dir: string;
  config: Config;
  stores?: (s: Stores) => Stores;
  composer?: (stores: Stores) => Composer;
}) {
  const sch = inProcessWorker({ paths: [o.dir], config: o.config, processors: false });
  cleanups.push(() => sch.close());
  await sch.ready;
  const real = createStores(hooks.redis, o.prefix);
  const stores = o.stores?.(real) ?? real;
  const queues = new EventQueues(hooks.redis, real.keys, real.eventQueues);
  cleanups.push(() => queues.close());
  const queue = queues.of("mini");
  const mailer = createMailer(o.config);
  cleanups.push(() => mailer.close());
  const process = createProcessor({
    stores,
    defs: new DefinitionCache({ kinds: KINDS, settleMs: 0 }),
    composer: o.composer?.(real) ?? composeMessage,
    mailer,
    config: o.config,
    settings: testSettings(),
    log: createLogger({ level: "silent", pretty: false }),
    queues,
    kinds: KINDS,
  });
  const [id] = (await real.ledger.all("mini")).keys();
  const job = id ? await queue.getJob(id) : undefined;
  if (!id || !job) throw new Error("the scheduler queued no job");
  return { process, job, id, real };
}

describe("claims and after-send steps", () => {
  it("the loser of a claim race leaves the winner's live `sending` alone", async () => {
    const prefix = uniquePrefix();
    const soon = dueSoon(0);
    const fx = writeEvent({
      people: people(1),
      steps: [letterStep()],
      registrations: [soon.registration],
    });
    cleanups.push(
      () => fx.cleanup(),
      () => deletePrefix(prefix),
    );
    const smtp = await relay(() => ({}));
    const config = testConfig(prefix, smtp.url);
    let winner: string | undefined;
    const { process, job, id, real } = await processorFor({
      prefix,
      dir: fx.dir,
      config,
      // Another process claims the send while this one composes: this one then loses the claim.
      composer: (stores) => async (def, send, opts) => {
        const won = await stores.ledger.claim("mini", send.id, send.recipient);
        winner = won.ok ? send.id : undefined;
        return composeMessage(def, send, opts);
      },
    });
    await process(job);
    expect(winner).toBe(id);
    const rec = await real.ledger.get("mini", id);
    expect(rec?.state).toBe("sending");
    expect(rec?.attempts).toBe(1);
    expect(rec?.unconfirmed).toBeUndefined();
    expect(smtp.received).toHaveLength(0);
  }, 20_000);

  it("a calendar invite whose delivery record failed after SMTP accepted it: the retry records it", async () => {
    const prefix = uniquePrefix();
    const soon = dueSoon(0);
    const fx = writeEvent({
      people: people(1),
      registrations: [soon.registration],
      steps: [
        {
          id: "invite",
          kind: "calendar-invite",
          audience: "people",
          trigger: { anchor: "registration", offset: "1m" },
          when: { registered: true },
          items: ["day-2099-06-20"],
          missedWindow: "1h",
        },
      ],
    });
    cleanups.push(
      () => fx.cleanup(),
      () => deletePrefix(prefix),
    );
    const smtp = await relay(() => ({}));
    let failures = 1;
    const { process, job, id, real } = await processorFor({
      prefix,
      dir: fx.dir,
      config: testConfig(prefix, smtp.url),
      // Redis refusing the delivery record once (a failover, say), after SMTP said 250.
      stores: (s) => ({
        ...s,
        calendar: Object.assign(Object.create(s.calendar) as Stores["calendar"], {
          recordDelivery: (...a: Parameters<Stores["calendar"]["recordDelivery"]>) => {
            if (failures-- > 0) return Promise.reject(new Error("READONLY injected"));
            return s.calendar.recordDelivery(...a);
          },
        }),
      }),
    });
    await expect(process(job)).rejects.toThrow(/READONLY/);
    expect((await real.ledger.get("mini", id))?.state).toBe("sent");
    await process(job); // BullMQ's retry of the same job
    const state = await real.calendar.load("mini");
    const delivered = Object.entries(state.items).flatMap(([item, { recipients }]) =>
      Object.entries(recipients).flatMap(([email, r]) =>
        r.delivered ? [{ item, email, sequence: r.delivered.sequence }] : [],
      ),
    );
    expect(delivered).toEqual([
      { item: "day-2099-06-20", email: "person00000@people.test", sequence: 0 },
    ]);
    expect((await real.ledger.get("mini", id))?.afterSentPending).toBeUndefined();
    expect(smtp.received).toHaveLength(1);
  }, 20_000);
});
