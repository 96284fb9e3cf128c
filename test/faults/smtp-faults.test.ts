/**
 * Scenario 3: the relay misbehaves, one fault per phase, each phase a fresh event of N_PHASE
 * recipients dropped into the folder two running workers watch (they re-plan every second):
 *   unreachable (port closed) 10 s · 421 to every MAIL FROM 6 s · connections closed before the
 *   greeting 6 s · every 3rd message stored but its connection dropped instead of the 250 ·
 *   550 5.1.1 to a tenth of the recipients and 452 (twice) to another tenth · AUTH 535 6 s.
 * After each fault the relay recovers (the workers are restarted after the AUTH fault, as an
 * operator who fixed the password would), and every send that may arrive must have arrived.
 *
 * Why 10 s and not 30 s unreachable: the retry delay is capped at CONVENE_BACKOFF_MAX_MS = 2 s
 * here, so 10 s is five full capped periods; a longer outage repeats the same states.
 *
 * Bounds: during a fault that answers every attempt the same way, the queue should back off as
 * a whole, so attempts are bounded by workers × pool slots × (fault seconds / slow-down + 3).
 * A greeting failure, a refused connection, a 4xx/5xx reply and an AUTH failure prove nothing
 * was handed over: those phases must leave nothing marked unconfirmed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FINAL } from "../../src/store/ledger.js";
import {
  forEvent,
  Lab,
  ledgerOf,
  letterStep,
  nowMinute,
  type Proc,
  people,
  type RedisHandle,
  type Relay,
  reconcile,
  sleep,
  suppressedAmong,
  until,
  type WorkerEnv,
  workerEnv,
  writeEvent,
} from "./harness.js";
import type { Command } from "./smtp-proc.js";

const N_PHASE = Number(process.env.FAULTS_SMTP_N ?? 60);
const WORKERS = 2;
const SLOTS = 3; // maxConnections in the relay URL, and CONVENE_CONCURRENCY
const SLOWDOWN_S = 1; // CONVENE_SLOWDOWN_MS
const PREFIX = "faults-smtp";

const lab = new Lab("smtp");
afterAll(async () => {
  await lab.close();
  lab.remove();
});

let redis: RedisHandle;
let relay: Relay;
let env: WorkerEnv;
let workers: Proc[] = [];
let phaseNo = 0;

const bound = (faultMs: number) => WORKERS * SLOTS * (faultMs / 1000 / SLOWDOWN_S + 3);

function startWorkers(): void {
  workers = Array.from({ length: WORKERS }, (_, i) =>
    lab.worker(`w${i}-${phaseNo}`, [lab.events, "--cron", "* * * * * *"], env),
  );
}

interface PhaseResult {
  event: string;
  planned: string[];
  emails: Map<string, string>;
  marked: Set<string>;
  during: number;
  connections: number;
  auths: number;
  recoveredMs: number;
  states: Record<string, number>;
}

/**
 * One fault phase: the fault in force, then a new event due now; after `faultMs` the relay
 * recovers (`recover`), and the phase waits until every send is decided.
 */
async function phase(
  name: string,
  fault: Command,
  faultMs: number,
  o: { recover?: Command; beforeRecover?: () => Promise<void> } = {},
): Promise<PhaseResult> {
  phaseNo++;
  const id = `p${phaseNo}-${name}`;
  await relay.mode(fault);
  const conns = relay.since();
  const auths0 = relay.received().auths;
  const ps = people(N_PHASE, `${id}.test`);
  const ev = writeEvent(lab.events, id, ps, [letterStep(nowMinute())]);
  if (!workers.length) startWorkers();
  const [sends] = await Promise.all([lab.plan(ev.dir), sleep(faultMs)]);
  const connections = conns();
  const auths = relay.received().auths - auths0;
  const during = forEvent(relay.received(), id).messages;
  await o.beforeRecover?.();
  await relay.mode(o.recover ?? { mode: "accept" });
  const t0 = Date.now();
  const decided = async () =>
    (await ledgerOf(redis.url, PREFIX, id)).filter((x) => FINAL.has(x.state)).length === N_PHASE;
  await until(`phase ${id}: every send decided`, decided, 60_000, 500).catch(() => undefined);
  const recoveredMs = Date.now() - t0;
  const st = await lab.status(ev.dir, env);
  return {
    event: id,
    planned: sends.map((s) => s.id),
    emails: new Map(sends.map((s) => [s.id, s.recipient])),
    marked: Lab.marked(st),
    during,
    connections,
    auths,
    recoveredMs,
    states: st.steps[0]?.states ?? {},
  };
}

function row(p: PhaseResult, scenario: string, expected?: string[], extra = "") {
  return reconcile({
    scenario,
    planned: p.planned,
    ...(expected ? { expected } : {}),
    received: forEvent(relay.received(), p.event),
    marked: p.marked,
    started: lab.started,
    note: `conns ${p.connections}, auths ${p.auths}${extra}, recovered in ${Math.round(p.recoveredMs / 1000)}s`,
  });
}

describe("scenario 3: SMTP faults", () => {
  beforeAll(async () => {
    redis = await lab.redis(6412);
    relay = await lab.relay(6433);
    // Concurrency = pool size: a worker then has no fetched job waiting for a connection, which
    // would reach the relay even while the queue is paused (see the report's note on 421s).
    env = workerEnv(redis, PREFIX, relay.url, { CONVENE_CONCURRENCY: String(SLOTS) });
  });

  it("unreachable for 10 s: nothing marked, nothing failed, all delivered soon after it returns, attempts bounded", async () => {
    const faultMs = 10_000;
    const p = await phase("unreachable", { mode: "unreachable" }, faultMs);
    const recs = await ledgerOf(redis.url, PREFIX, p.event);
    const failedAttempts =
      recs.reduce((a, x) => a + x.attempts, 0) - recs.filter((x) => x.state === "sent").length;
    const r = row(p, "3a SMTP unreachable 10s", undefined, `, refused attempts ${failedAttempts}`);
    expect(p.during).toBe(0);
    expect(r.lostIds).toEqual([]);
    expect(r.duplicates).toBe(0);
    expect(p.marked.size).toBe(0);
    expect(p.states.failed ?? 0).toBe(0);
    // Back within one capped retry delay plus the sending itself.
    expect(p.recoveredMs).toBeLessThan(20_000);
    expect(failedAttempts).toBeLessThanOrEqual(bound(faultMs));
  });

  it("421 to everything for 6 s, then recovery: the queue backs off as a whole, nothing marked", async () => {
    const faultMs = 6_000;
    const p = await phase("421", { mode: "421" }, faultMs);
    const r = row(p, "3b SMTP 421 6s");
    expect(p.during).toBe(0);
    expect(r.lostIds).toEqual([]);
    expect(r.duplicates).toBe(0);
    expect(p.marked.size).toBe(0);
    expect(p.connections).toBeGreaterThan(0);
    expect(p.connections).toBeLessThanOrEqual(bound(faultMs));
  });

  it("connections closed before the greeting for 6 s: nothing was handed over, so nothing is marked; attempts bounded", async () => {
    const faultMs = 6_000;
    const p = await phase("greeting", { mode: "close-greeting" }, faultMs);
    const r = row(p, "3c SMTP close before greeting 6s");
    expect(p.during).toBe(0);
    expect(r.lostIds).toEqual([]);
    expect(r.duplicates).toBe(0);
    expect(p.marked.size).toBe(0);
    expect(p.connections).toBeGreaterThan(0);
    expect(p.connections).toBeLessThanOrEqual(bound(faultMs));
  });

  it("every 3rd message stored but its connection dropped before the 250: resent, duplicates only among unconfirmed", async () => {
    const p = await phase("drop", { mode: "drop-after-data", dropEvery: 3 }, 4_000);
    const r = row(p, "3d SMTP drop after DATA");
    expect(r.lostIds).toEqual([]);
    expect(r.unmarkedDuplicates).toEqual([]);
    expect(r.strangers).toEqual([]);
    // The drops happened and the ledger knows which sends they hit.
    expect(p.marked.size).toBeGreaterThan(0);
    expect(p.states.sent).toBe(N_PHASE);
  });

  it("550 5.1.1 to a tenth, 452 twice to another tenth: the 550s fail and are suppressed, the 452s arrive once, nothing marked", async () => {
    const p = await phase(
      "rcpt",
      { mode: "accept", rcpt550: "3@", rcpt452: "7@", rcpt452Times: 2 },
      4_000,
      { recover: { mode: "accept", rcpt550: "3@", rcpt452: "7@", rcpt452Times: 2 } },
    );
    const refused = p.planned.filter((id) => p.emails.get(id)?.match(/3@/));
    const full = p.planned.filter((id) => p.emails.get(id)?.match(/7@/));
    const expected = p.planned.filter((id) => !refused.includes(id));
    const r = row(p, "3e SMTP 550/452 RCPT", expected);
    expect(r.lostIds).toEqual([]);
    expect(r.duplicates).toBe(0);
    expect(p.marked.size).toBe(0);
    const recs = new Map((await ledgerOf(redis.url, PREFIX, p.event)).map((x) => [x.recipient, x]));
    for (const id of refused) expect(recs.get(p.emails.get(id) ?? "")?.state).toBe("failed");
    for (const id of full) expect(recs.get(p.emails.get(id) ?? "")?.state).toBe("sent");
    const emails = (ids: string[]) => ids.map((id) => p.emails.get(id) ?? "");
    expect((await suppressedAmong(redis.url, PREFIX, emails(refused))).sort()).toEqual(
      emails(refused).sort(),
    );
    expect(await suppressedAmong(redis.url, PREFIX, emails(full))).toEqual([]);
  });

  it("AUTH 535 for 6 s: sending stops (AUTH attempts bounded), nothing marked; after the fix and a restart all arrive", async () => {
    const faultMs = 6_000;
    const p = await phase("auth", { mode: "auth-535" }, faultMs, {
      beforeRecover: async () => {
        // The operator restarts the workers and fixes the credentials (nothing is in flight:
        // every attempt is refused at AUTH, so the stop leaves nothing unconfirmed).
        for (const w of workers) w.child.kill("SIGTERM");
        await Promise.all(workers.map((w) => w.exited));
        startWorkers();
      },
    });
    const r = row(p, "3f SMTP AUTH 535 6s");
    expect(p.during).toBe(0);
    expect(r.lostIds).toEqual([]);
    expect(r.duplicates).toBe(0);
    expect(p.marked.size).toBe(0);
    expect(p.auths).toBeGreaterThan(0);
    expect(p.auths).toBeLessThanOrEqual(WORKERS * SLOTS * 3);
    expect(lab.leaks()).toEqual([]);
  });
});
