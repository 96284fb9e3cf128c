/**
 * What the worker does when the SMTP server cannot be reached, refuses our credentials, stays
 * silent, or refuses a recipient: real Redis, real SMTP servers (and raw TCP servers that
 * misbehave) on loopback.
 */

import { createServer, type Server, type Socket } from "node:net";
import { Worker as BullWorker, UnrecoverableError } from "bullmq";
import { pino } from "pino";
import { SMTPServer } from "smtp-server";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import type { Config } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { createMailer } from "../../src/mail/transport.js";
import { createStores } from "../../src/store/index.js";
import type { LedgerRecord } from "../../src/store/ledger.js";
import { QUEUE_NAME } from "../../src/worker/queue.js";
import type { WorkerSettings } from "../../src/worker/settings.js";
import { classify, mailboxGone } from "../../src/worker/smtp-errors.js";
import { type RunningWorker, startWorker } from "../../src/worker/worker.js";
import {
  connectTestRedis,
  convene,
  deletePrefix,
  dueSoon,
  inProcessWorker,
  letterStep,
  people,
  sleep,
  startSmtp,
  testConfig,
  testHooks,
  testSettings,
  uniquePrefix,
  until,
  writeEvent,
} from "./fixture.js";

const hooks = testHooks();
const { cleanups } = hooks;

function setup(n: number, inSeconds = 1) {
  const prefix = uniquePrefix();
  const soon = dueSoon(inSeconds);
  const fx = writeEvent({
    people: people(n),
    steps: [letterStep()],
    registrations: [soon.registration],
  });
  cleanups.push(
    () => fx.cleanup(),
    () => deletePrefix(prefix),
  );
  const stores = createStores(hooks.redis, prefix);
  return { prefix, fx, stores };
}

async function records(prefix: string): Promise<LedgerRecord[]> {
  return [...(await createStores(hooks.redis, prefix).ledger.all("mini")).values()];
}

function keep(w: RunningWorker): RunningWorker {
  cleanups.push(() => w.close());
  return w;
}

/** A TCP server on loopback that does `onSocket` with every connection, and counts them. */
async function rawServer(onSocket: (s: Socket) => void, port = 0) {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const actual = (server.address() as { port: number }).port;
  const close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  cleanups.push(close);
  return { port: actual, connections: () => connections, close };
}

/** A free loopback port, nothing listening on it afterwards (connections are refused). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A real SMTP server on a given port, recording each recipient it accepted a message for. */
async function smtpOn(port: number, onAuth?: (ok: () => void, no: () => void) => void) {
  const received: string[] = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    authOptional: !onAuth,
    logger: false,
    onAuth(auth, _session, cb) {
      onAuth?.(
        () => cb(null, { user: auth.username }),
        () => cb(new Error("Authentication credentials invalid")),
      );
    },
    onData(stream, session, cb) {
      stream.on("data", () => undefined);
      stream.on("end", () => {
        received.push(session.envelope.rcptTo[0]?.address ?? "");
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.server.address() as { port: number }).port, received };
}

/** An in-process worker whose log lines are kept, to assert what an operator reads. */
function loggedWorker(o: {
  paths: string[];
  config: Config;
  settings?: Partial<WorkerSettings>;
  scheduler?: boolean;
}): {
  w: RunningWorker;
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "info" },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  const w = startWorker({
    paths: o.paths,
    kinds: KINDS,
    config: o.config,
    settings: testSettings(o.settings),
    log,
    scheduler: o.scheduler ?? true,
    processors: true,
    cron: "0 0 1 1 *",
    composer: composeMessage,
    mailer: () => createMailer(o.config),
  });
  return { w: keep(w), lines };
}

describe("the mail server cannot be reached", () => {
  it("a server closing every connection before its greeting: nothing is marked unconfirmed, the queue backs off, and all goes out once it answers", async () => {
    const { prefix, fx } = setup(12);
    const closer = await rawServer((s) => s.destroy());
    const url = `smtp://127.0.0.1:${closer.port}?maxConnections=5`;
    const w = keep(
      inProcessWorker({
        paths: [fx.dir],
        config: testConfig(prefix, url),
        settings: { connectBackoffMs: 300, connectBackoffMaxMs: 1_000 },
      }),
    );
    await until("the first attempts", async () => (await records(prefix)).some((r) => r.attempts));
    await sleep(4_000);
    const during = await records(prefix);
    // Nothing was handed over: no send may claim it was possibly delivered, none is failed.
    expect(during.filter((r) => r.unconfirmed)).toEqual([]);
    expect(during.map((r) => r.state).filter((s) => s !== "scheduled" && s !== "sending")).toEqual(
      [],
    );
    // Waits of 0.3, 0.6, 1, 1, 1, 1 s: at most 8 rounds, each of at most 5 sends (one per
    // pooled connection) with one pool requeue each, however many sends wait; plus the round
    // in flight when the count is read.
    const attempts = during.reduce((a, r) => a + r.attempts, 0);
    console.log(
      `closed before greeting: ${closer.connections()} connections, ${attempts} attempts`,
    );
    expect(closer.connections()).toBeLessThanOrEqual(9 * 5 * 2);
    expect(attempts).toBeLessThanOrEqual(9 * 5);

    // The server comes back on the same port.
    await closer.close();
    const smtp = await smtpOn(closer.port);
    await until("all sent", async () => (await records(prefix)).every((r) => r.state === "sent"));
    const after = await records(prefix);
    expect(after.filter((r) => r.unconfirmed)).toEqual([]);
    expect(smtp.received.sort()).toEqual(
      people(12)
        .map((p) => p.email)
        .sort(),
    );
    // Before the server's own close, which waits for the pool's idle connections.
    await w.close();
  }, 40_000);

  it("a refused connection backs the whole queue off: connection attempts stay bounded however many sends wait", async () => {
    const { prefix, fx } = setup(40);
    const port = await freePort();
    keep(
      inProcessWorker({
        paths: [fx.dir],
        config: testConfig(prefix, `smtp://127.0.0.1:${port}?maxConnections=5`),
        settings: { connectBackoffMs: 300, connectBackoffMaxMs: 1_000, concurrency: 10 },
      }),
    );
    await until("the first attempts", async () => (await records(prefix)).some((r) => r.attempts));
    await sleep(4_000);
    const recs = await records(prefix);
    const attempts = recs.reduce((a, r) => a + r.attempts, 0);
    console.log(`refused: ${attempts} attempts`);
    // ~6 rounds in 4 s, each at most the 5 pooled connections' worth of sends (10 in flight).
    expect(attempts).toBeLessThanOrEqual(6 * 10);
    expect(recs.filter((r) => r.state === "failed" || r.unconfirmed)).toEqual([]);
  }, 30_000);

  it("a silent server (no greeting) times out in seconds, not minutes, and nothing is marked", async () => {
    const { prefix, fx } = setup(2);
    const silent = await rawServer(() => undefined);
    const before = process.env.CONVENE_SMTP_GREETING_TIMEOUT_MS;
    process.env.CONVENE_SMTP_GREETING_TIMEOUT_MS = "500";
    cleanups.push(() => {
      if (before === undefined) delete process.env.CONVENE_SMTP_GREETING_TIMEOUT_MS;
      else process.env.CONVENE_SMTP_GREETING_TIMEOUT_MS = before;
    });
    keep(
      inProcessWorker({
        paths: [fx.dir],
        config: testConfig(prefix, `smtp://127.0.0.1:${silent.port}?maxConnections=5`),
      }),
    );
    await until("the first attempts", async () => (await records(prefix)).some((r) => r.attempts));
    // Greeting timeout 0.5 s: every attempt has ended within a few seconds.
    await until(
      "more than one attempt per send",
      async () => (await records(prefix)).every((r) => r.attempts >= 2),
      8_000,
    );
    const recs = await records(prefix);
    expect(recs.filter((r) => r.unconfirmed || r.state === "failed")).toEqual([]);
    expect(recs[0]?.response).toMatch(/Greeting never received/);
  }, 20_000);
});

describe("the mail server refuses our credentials", () => {
  it("a 535 stops sending in every worker after one try per connection, keeps every send scheduled, logs one error, and a restart resumes", async () => {
    const { prefix, fx, stores } = setup(20);
    let authAttempts = 0;
    let accept = false;
    const { port, received } = await smtpOn(0, (ok, no) => {
      authAttempts++;
      if (accept) ok();
      else no();
    });
    const url = `smtp://convene:s3cret-pw@127.0.0.1:${port}?maxConnections=5`;
    const config = testConfig(prefix, url);

    const { w, lines } = loggedWorker({ paths: [fx.dir], config });
    const other = loggedWorker({ paths: [fx.dir], config, scheduler: false });
    await until("the first AUTH attempt", () => authAttempts > 0, 15_000);
    await sleep(3_000);
    // One try per pooled connection of each worker, not one (or eight) per send.
    console.log(`535: ${authAttempts} AUTH attempts`);
    expect(authAttempts).toBeLessThanOrEqual(2 * 5 + 2);
    expect((await stores.smtp.halted())?.server).toMatch(/^smtp:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:/);
    expect(await w.queue.isPaused()).toBe(true);
    const recs = await records(prefix);
    expect(recs).toHaveLength(20);
    expect(recs.map((r) => r.state)).toEqual(Array(20).fill("scheduled"));
    expect(recs.filter((r) => r.unconfirmed)).toEqual([]);
    const errors = [...lines, ...other.lines].filter((l) => Number(l.level) >= 50);
    expect(errors).toHaveLength(1);
    const msg = String(errors[0]?.msg);
    expect(msg).toMatch(/SMTP_URL/);
    expect(msg).toMatch(/535/);
    expect(msg).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}`));
    expect(JSON.stringify([lines, other.lines])).not.toMatch(/s3cret-pw/);
    expect(received).toEqual([]);

    // Fixed (here: the server accepts now) and restarted: everything goes out once.
    await w.close();
    await other.w.close();
    accept = true;
    keep(inProcessWorker({ paths: [fx.dir], config }));
    await until("all sent", async () => (await records(prefix)).every((r) => r.state === "sent"));
    expect(received.sort()).toEqual(
      people(20)
        .map((p) => p.email)
        .sort(),
    );
    expect(await stores.smtp.halted()).toBeUndefined();
  }, 40_000);
});

describe("a refused recipient", () => {
  it("suppresses the address only when the reply says the mailbox does not exist", async () => {
    const { prefix, fx, stores } = setup(6);
    const refusals: Record<string, { code: number; message: string }> = {
      "person00000@people.test": { code: 500, message: "strict ASCII mode" },
      "person00001@people.test": { code: 550, message: "5.7.1 Relaying denied by policy" },
      "person00002@people.test": { code: 552, message: "5.2.2 Mailbox full" },
      "person00003@people.test": { code: 550, message: "5.1.1 No such user here" },
      "person00004@people.test": { code: 553, message: "Mailbox name not allowed" },
    };
    const smtp = await startSmtp((address) => refusals[address]);
    cleanups.push(() => smtp.close());
    keep(inProcessWorker({ paths: [fx.dir], config: testConfig(prefix, smtp.url) }));
    await until("all decided", async () => {
      const recs = await records(prefix);
      return recs.length === 6 && recs.every((r) => r.state === "sent" || r.state === "failed");
    });
    const suppressed = (await stores.suppressions.list()).map((s) => s.email).sort();
    expect(suppressed).toEqual(["person00003@people.test", "person00004@people.test"]);
    const byTo = new Map((await records(prefix)).map((r) => [r.recipient, r.state]));
    expect(byTo.get("person00000@people.test")).toBe("failed");
    expect(byTo.get("person00005@people.test")).toBe("sent");
  });

  it("reads the enhanced status code from the reply", () => {
    expect(mailboxGone(550, "550 5.1.1 <a@b.test>: Recipient address rejected")).toBe(true);
    expect(mailboxGone(554, "554 5.1.10 null MX")).toBe(true);
    expect(mailboxGone(550, "550 5.7.1 Service unavailable; client host blocked")).toBe(false);
    expect(mailboxGone(550, "550 5.1.8 Bad sender's system address")).toBe(false);
    expect(mailboxGone(552, "552 Requested mail action aborted: exceeded storage")).toBe(false);
    expect(mailboxGone(500, "500 strict ASCII mode")).toBe(false);
    expect(mailboxGone(551, "551 User not local")).toBe(true);
    const rcpt = (response: string) =>
      Object.assign(new Error(response), {
        code: "EENVELOPE",
        command: "RCPT TO",
        response,
        responseCode: Number(response.slice(0, 3)),
      });
    expect(classify(rcpt("500 strict ASCII mode"))).toMatchObject({
      kind: "permanent",
      suppress: false,
    });
    expect(classify(rcpt("550 5.1.1 no such user"))).toMatchObject({ suppress: true });
  });
});

describe("nodemailer's errors before the message went out", () => {
  it("are never 'acceptance unknown'", () => {
    const gaveUp = Object.assign(
      new Error("Reached maximum number of retries after connection was closed"),
      { code: "ECONNECTION" },
    );
    expect(classify(gaveUp).kind).toBe("connection");
    const refused = Object.assign(new Error("connect ECONNREFUSED"), {
      code: "ECONNECTION",
      originalCode: "ECONNREFUSED",
      command: "CONN",
    });
    expect(classify(refused).kind).toBe("connection");
    const auth = Object.assign(new Error("Invalid login: 535 Authentication failed"), {
      code: "EAUTH",
      responseCode: 535,
      response: "535 Authentication failed",
      command: "AUTH PLAIN",
    });
    expect(classify(auth).kind).toBe("auth");
  });
});

describe("two crashes in a row", () => {
  it("an unconfirmed send whose job ended in the failed set is queued again and delivered once", async () => {
    const { prefix, fx, stores } = setup(2, 2);
    const smtp = await startSmtp();
    cleanups.push(() => smtp.close());
    const config = testConfig(prefix, smtp.url);
    const sch = keep(inProcessWorker({ paths: [fx.dir], config, processors: false }));
    await sch.ready;
    const [id] = [...(await stores.ledger.pending("mini")).keys()].sort() as [string];
    const rec = await stores.ledger.get("mini", id);
    // Crashed once in SMTP (found `sending`, marked unconfirmed), then its job stalled out again.
    await stores.ledger.claim("mini", id, rec?.recipient as string);
    await stores.ledger.transition("mini", id, ["sending"], {
      state: "unconfirmed",
      reason: "an earlier attempt was cut off after it was claimed",
      unconfirmed: true,
    });
    await (await sch.queue.getJob(id))?.promote();
    const conn = connectTestRedis({ maxRetriesPerRequest: null });
    const taker = new BullWorker(QUEUE_NAME, null, {
      connection: conn,
      prefix: `${prefix}:bull`,
      autorun: false,
    });
    const job = await taker.getNextJob("test-token");
    expect(job?.id).toBe(id);
    await job?.moveToFailed(
      new UnrecoverableError("job stalled more than allowable limit"),
      "test-token",
    );
    await taker.close();
    conn.disconnect();
    expect(await sch.queue.getJobState(id)).toBe("failed");

    keep(inProcessWorker({ paths: [fx.dir], config, scheduler: false }));
    const summary = await sch.scheduler?.tick();
    expect(summary?.[0]?.requeued).toBe(1);
    await smtp.waitFor(2, 20_000);
    await until("both sent", async () => (await records(prefix)).every((r) => r.state === "sent"));
    expect(smtp.received.filter((r) => r.sendId === id)).toHaveLength(1);
    const text = await convene(["status", fx.dir, "--failures"], prefix);
    expect(text).toMatch(/sent, possibly twice/);
  }, 30_000);
});
