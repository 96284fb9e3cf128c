/**
 * `GET /metrics` in Prometheus' text format, built with prom-client.
 *
 * `convene serve` may run as a process of its own, so most values are read from Redis at each
 * scrape rather than counted in memory: the sends per event, step, kind and ledger state, the
 * BullMQ queue's job counts, and the last scheduler tick (time and duration, which the
 * scheduler leaves in Redis, store/ticks.ts). The worker's own histograms (SMTP latency, tick
 * durations) exist only in the worker's memory, and are exported only when the worker runs in
 * this process (`convene worker --serve`).
 *
 * Each scrape gets a registry of its own, filled from one snapshot: two scrapes at once cannot
 * mix their values, and nothing here holds state between scrapes.
 *
 * Labels carry event ids, step ids, kinds and states (slugs), never an address: a ledger
 * record's recipient is not read here.
 */
import type { FastifyInstance } from "fastify";
import { Gauge, type Metric, Registry } from "prom-client";
import { parseSendId } from "../planner/send.js";
import type { LedgerRecord, State } from "../store/ledger.js";
import type { TickRecord } from "../store/ticks.js";
import { LEDGER_STATES } from "../types.js";
import { tokenMatches } from "./console/auth.js";

/** BullMQ's job states that say how much work is queued (completed jobs are removed). */
export const QUEUE_STATES = [
  "waiting",
  "delayed",
  "active",
  "prioritized",
  "paused",
  "waiting-children",
  "failed",
] as const;

export interface MetricsSource {
  /** Whether Redis answers within a bound; when it does not, nothing else is read from it. */
  redisAnswers(): Promise<boolean>;
  /** The events whose ledgers are counted (besides those the last tick planned). */
  events(): Promise<ServedEvent[]>;
  /** Every ledger record of an event, streamed. */
  ledger(event: string): AsyncIterable<[string, LedgerRecord]>;
  /** BullMQ's job counts per state (QUEUE_STATES). */
  queueCounts(): Promise<Record<string, number>>;
  lastTick(): Promise<TickRecord | undefined>;
  /** The histograms of a worker running in this process (`convene worker --serve`). */
  inProcess?: readonly Metric[];
  /** CONVENE_METRICS_TOKEN: when set, a scrape must send `Authorization: Bearer <token>`. */
  token?: string;
}

/** An event this server was given, with its steps' kinds (for records that do not name one). */
export interface ServedEvent {
  id: string;
  kinds: ReadonlyMap<string, string>;
}

export interface SendCount {
  event: string;
  step: string;
  kind: string;
  state: State;
  count: number;
}

/** A send whose id does not parse (none should) or whose record has no kind (older ledgers). */
const UNKNOWN = "unknown";

/**
 * Sends per step, kind and state, from the ledger's records. Every state of each step and kind
 * met is present, zeros included, so a series does not vanish when its last send moves on. A
 * record without its kind (a send the scheduler recorded missed before queueing it) takes its
 * step's kind from `kinds`.
 */
export async function tallyLedger(
  event: string,
  entries: AsyncIterable<[string, LedgerRecord]>,
  kinds: ReadonlyMap<string, string> = new Map(),
): Promise<SendCount[]> {
  const groups = new Map<string, Map<State, number>>();
  for await (const [id, rec] of entries) {
    const step = parseSendId(id)?.step ?? UNKNOWN;
    const key = `${step}\n${rec.kind ?? kinds.get(step) ?? UNKNOWN}`;
    let byState = groups.get(key);
    if (!byState) {
      byState = new Map(LEDGER_STATES.map((s) => [s, 0]));
      groups.set(key, byState);
    }
    byState.set(rec.state, (byState.get(rec.state) ?? 0) + 1);
  }
  const out: SendCount[] = [];
  for (const [key, byState] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const [step = UNKNOWN, kind = UNKNOWN] = key.split("\n");
    for (const [state, count] of byState) out.push({ event, step, kind, state, count });
  }
  return out;
}

/** What one scrape read from Redis. */
export interface Snapshot {
  redis: boolean;
  sends: SendCount[];
  queue: Record<string, number>;
  tick?: TickRecord;
}

async function readSnapshot(source: MetricsSource): Promise<Snapshot> {
  if (!(await source.redisAnswers())) return { redis: false, sends: [], queue: {} };
  const tick = await source.lastTick();
  const served = new Map((await source.events()).map((e) => [e.id, e.kinds]));
  const events = [...new Set([...served.keys(), ...(tick?.events ?? [])])].sort();
  const sends: SendCount[] = [];
  for (const ev of events)
    sends.push(...(await tallyLedger(ev, source.ledger(ev), served.get(ev))));
  const queue = await source.queueCounts();
  return { redis: true, sends, queue, ...(tick ? { tick } : {}) };
}

/** A Redis that stops answering mid-scrape would hold the request forever (commands queue). */
const SCRAPE_BOUND_MS = 10_000;

function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("Redis did not answer in time")), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function gauge<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): Gauge<L> {
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

function sendGauges(registry: Registry, s: Snapshot): void {
  const sends = gauge(
    registry,
    "convene_sends",
    "Sends in the delivery ledger, by event, step, message kind and state (scheduled, sending, sent, skipped, suppressed, missed, failed, bounced, unconfirmed). A send enters the ledger when the scheduler queues it (within the horizon).",
    ["event", "step", "kind", "state"],
  );
  for (const c of s.sends)
    sends.set({ event: c.event, step: c.step, kind: c.kind, state: c.state }, c.count);
  const jobs = gauge(
    registry,
    "convene_queue_jobs",
    "Jobs in the send queue (BullMQ) by state: waiting (due, not started), delayed (due later, or waiting to retry), active (being sent), paused, prioritized, waiting-children, failed (kept a while).",
    ["state"],
  );
  for (const state of QUEUE_STATES)
    if (s.queue[state] !== undefined) jobs.set({ state }, s.queue[state] ?? 0);
}

function tickGauges(registry: Registry, tick: TickRecord | undefined): void {
  if (!tick) return;
  gauge(
    registry,
    "convene_scheduler_last_tick_timestamp_seconds",
    "When the last scheduler tick on this Redis and prefix ended (Unix time); absent before any tick.",
  ).set(tick.at / 1000);
  gauge(
    registry,
    "convene_scheduler_last_tick_duration_seconds",
    "How long the last scheduler tick on this Redis and prefix took.",
  ).set(tick.durationMs / 1000);
}

/** The registry one scrape answers with. */
export function registryOf(s: Snapshot, inProcess: readonly Metric[] = []): Registry {
  const registry = new Registry();
  gauge(registry, "convene_redis_up", "1 when Redis answered this scrape, else 0.").set(
    s.redis ? 1 : 0,
  );
  sendGauges(registry, s);
  tickGauges(registry, s.tick);
  for (const m of inProcess) registry.registerMetric(m);
  return registry;
}

/**
 * A token compared in constant time, so its bytes cannot be found by timing the answers; and
 * through tokenMatches's hashes, so neither can its length (a length check first would say it).
 */
function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/i.exec(header ?? "");
  return tokenMatches(m?.[1], token);
}

export function metricsRoutes(app: FastifyInstance, source: MetricsSource): void {
  app.get("/metrics", async (request, reply) => {
    reply.header("cache-control", "no-store");
    if (source.token && !bearerMatches(request.headers.authorization, source.token))
      return reply
        .code(401)
        .header("www-authenticate", 'Bearer realm="convene metrics"')
        .type("text/plain; charset=utf-8")
        .send("/metrics needs Authorization: Bearer <CONVENE_METRICS_TOKEN>\n");
    let snapshot: Snapshot;
    try {
      snapshot = await bounded(readSnapshot(source), SCRAPE_BOUND_MS);
    } catch (e) {
      request.log.warn({ err: (e as Error).message }, "metrics: Redis failed during the scrape");
      snapshot = { redis: false, sends: [], queue: {} };
    }
    const registry = registryOf(snapshot, source.inProcess);
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
