/**
 * How many commands one send makes on the stores' connection, counted by MONITOR on the real
 * Redis (only this file's own connection: BullMQ's, other tests' and the commands a script runs
 * inside Redis are not the worker's round trips). Every re-check before the claim used to be a
 * command awaited on its own; they are now one script per slot, so the count is a bound that
 * only grows if a step goes back to reading Redis by itself.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { composeMessage } from "../../src/mail/compose.js";
import { createMailer } from "../../src/mail/transport.js";
import { createStores } from "../../src/store/index.js";
import { loadScripts } from "../../src/store/scripts.js";
import { DefinitionCache } from "../../src/worker/definitions.js";
import { createLogger } from "../../src/worker/logger.js";
import { EventQueues } from "../../src/worker/queue.js";
import { createProcessor } from "../../src/worker/runtime.js";
import {
  connectTestRedis,
  deletePrefix,
  dueSoon,
  inProcessWorker,
  letterStep,
  people,
  startSmtp,
  testConfig,
  testHooks,
  testSettings,
  uniquePrefix,
  writeEvent,
} from "./fixture.js";

const hooks = testHooks();
const { cleanups } = hooks;

/**
 * A script by its name in src/store/scripts (ioredis sends EVAL the first time on a connection,
 * EVALSHA after), any other command by its own.
 */
function nameOf(args: readonly string[]): string {
  const cmd = String(args[0]).toLowerCase();
  if (cmd !== "eval" && cmd !== "evalsha") return cmd;
  const body = String(args[1]);
  const sha = cmd === "evalsha" ? body : sha1(unquoted(body));
  const script = SCRIPTS.find((s) => s.sha === sha);
  return script ? script.name : cmd;
}

/** MONITOR quotes a script's text (`\\n`, `\\xe2`…); its bytes back, to hash. */
function unquoted(text: string): Buffer {
  const bytes: number[] = [];
  const esc: Record<string, number> = { n: 10, r: 13, t: 9, a: 7, b: 8 };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const next = text[i + 1] as string;
    if (c === "\\" && next === "x") {
      bytes.push(Number.parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (c === "\\" && next !== undefined) {
      bytes.push(esc[next] ?? next.charCodeAt(0));
      i += 1;
    } else bytes.push(...Buffer.from(c));
  }
  return Buffer.from(bytes);
}

const sha1 = (b: string | Buffer) => createHash("sha1").update(b).digest("hex");

const SCRIPTS = loadScripts().map((s) => ({
  name: s.name,
  sha: sha1(s.lua),
}));

/** The commands `conn` sends while `fn` runs, by name, in order. */
async function commandsOf(conn: Redis, fn: () => Promise<void>): Promise<string[]> {
  const addr = /\baddr=(\S+)/.exec(String(await conn.client("INFO")))?.[1];
  const monitor = await hooks.redis.monitor();
  const seen: string[] = [];
  // The feed goes on until the disconnect lands; what comes after the marker is not `fn`'s.
  let over = false;
  const marker = `convene-round-trips-${Math.random()}`;
  let done: () => void = () => undefined;
  const ended = new Promise<void>((r) => {
    done = r;
  });
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (source !== addr || over) return;
    if (args[0]?.toLowerCase() === "echo" && args[1] === marker) {
      over = true;
      return done();
    }
    seen.push(nameOf(args));
  });
  try {
    await fn();
    // MONITOR's feed lags the replies: the marker says every command before it has been seen.
    await conn.echo(marker);
    await ended;
  } finally {
    monitor.disconnect();
  }
  return seen;
}

/** One send, planned by the scheduler, processed by a processor on a connection of its own. */
async function oneSend(steps: object[]) {
  const prefix = uniquePrefix();
  const soon = dueSoon(0);
  const fx = writeEvent({ people: people(1), steps, registrations: [soon.registration] });
  const smtp = await startSmtp();
  cleanups.push(
    () => fx.cleanup(),
    () => smtp.close(),
    () => deletePrefix(prefix),
  );
  const config = testConfig(prefix, smtp.url);
  const sch = inProcessWorker({ paths: [fx.dir], config, processors: false });
  cleanups.push(() => sch.close());
  await sch.ready;
  const conn = connectTestRedis();
  cleanups.push(() => conn.disconnect());
  const stores = createStores(conn, prefix);
  const queues = new EventQueues(hooks.redis, stores.keys, stores.eventQueues);
  cleanups.push(() => queues.close());
  const mailer = createMailer(config);
  cleanups.push(() => mailer.close());
  const process = createProcessor({
    stores,
    defs: new DefinitionCache({ kinds: KINDS, settleMs: 0 }),
    composer: composeMessage,
    mailer,
    config,
    settings: testSettings(),
    log: createLogger({ level: "silent", pretty: false }),
    queues,
    kinds: KINDS,
  });
  const [id] = (await stores.ledger.all("mini")).keys();
  const job = id ? await queues.of("mini").getJob(id) : undefined;
  if (!id || !job) throw new Error("the scheduler queued no job");
  const commands = await commandsOf(conn, () => process(job));
  expect((await stores.ledger.get("mini", id))?.state).toBe("sent");
  await smtp.waitFor(1);
  expect(smtp.received).toHaveLength(1);
  return commands;
}

describe("Redis commands per send", () => {
  /**
   * What every send makes: one command of checks (the suppression read in the same script on one
   * Redis), the SMTP checks, then the claim and `sent`.
   */
  const common = ["sendChecks", "smtpClearance", "ledgerTransition", "ledgerTransition"];

  it("a letter: the event's checks with the suppression, the SMTP checks, the claim, sent", async () => {
    // Before: ledger, controls, registration, suppression, halt/wait pipeline (2), claim, sent;
    // then the suppression as an HGET of its own beside the checks.
    expect(await oneSend([letterStep()])).toEqual(common);
  }, 20_000);

  it("a calendar invite adds only its delivery record and the end of its after-send step", async () => {
    const invite = {
      id: "invite",
      kind: "calendar-invite",
      audience: "people",
      trigger: { anchor: "registration", offset: "1m" },
      when: { registered: true },
      items: ["day-2099-06-20"],
      missedWindow: "1h",
    };
    // Before, also the item (twice for an update) and the recipient's held copy, one each.
    expect(await oneSend([invite])).toEqual([
      ...common,
      "calendarRecordDelivery",
      "ledgerTransition",
    ]);
  }, 20_000);
});
