/**
 * `GET /healthz`: whether Redis answers, and how long ago a scheduler last ticked.
 *
 * Only an unreachable Redis makes it 503. A stale tick (or none) is reported but answered 200:
 * `convene serve` often runs without a scheduler of its own, and a load balancer or Docker
 * healthcheck that restarted it for that would take the unsubscribe page down while fixing
 * nothing. Alert on `scheduler: "stale"` here, or on the tick timestamp in /metrics.
 */
import type { TickRecord } from "../store/ticks.js";

export interface HealthDeps {
  redisAnswers: () => Promise<boolean>;
  /** The last scheduler tick on this Redis (store/ticks.ts); absent: the answer leaves it out. */
  lastTick?: () => Promise<TickRecord | undefined>;
  /** A tick older than this is `stale`. */
  tickStaleAfterMs?: number;
  now?: () => number;
}

/** Three of the default one-minute cron intervals: one slow or skipped tick is not alarming. */
export const DEFAULT_TICK_STALE_MS = 3 * 60_000;

export type SchedulerHealth = "ok" | "stale" | "none" | "unknown";

export interface Health {
  redis: "ok" | "unreachable";
  lastTick?: string | null;
  tickAgeSeconds?: number | null;
  scheduler?: SchedulerHealth;
}

function tickHealth(tick: TickRecord | undefined, nowMs: number, staleMs: number): Health {
  if (!tick) return { redis: "ok", lastTick: null, tickAgeSeconds: null, scheduler: "none" };
  const ageMs = Math.max(0, nowMs - tick.at);
  return {
    redis: "ok",
    lastTick: new Date(tick.at).toISOString(),
    tickAgeSeconds: Math.round(ageMs / 100) / 10,
    scheduler: ageMs > staleMs ? "stale" : "ok",
  };
}

const UNKNOWN_TICK = { lastTick: null, tickAgeSeconds: null, scheduler: "unknown" } as const;

/** The tick's read, bounded: a Redis gone since its PING would hold the check forever. */
function readTick(
  lastTick: () => Promise<TickRecord | undefined>,
  ms: number,
): Promise<TickRecord | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), ms);
  });
  return Promise.race([lastTick(), late]).finally(() => clearTimeout(timer));
}

export async function health(d: HealthDeps): Promise<{ status: number; body: Health }> {
  const unreachable = { status: 503, body: { redis: "unreachable" as const } };
  if (!(await d.redisAnswers()))
    return d.lastTick
      ? { status: 503, body: { ...unreachable.body, ...UNKNOWN_TICK } }
      : unreachable;
  if (!d.lastTick) return { status: 200, body: { redis: "ok" } };
  let tick: TickRecord | undefined;
  try {
    tick = await readTick(d.lastTick, 2_000);
  } catch {
    // PING answered but the read did not: a Redis going away, unreachable for our purpose.
    return { status: 503, body: { ...unreachable.body, ...UNKNOWN_TICK } };
  }
  const nowMs = (d.now ?? Date.now)();
  const staleMs = d.tickStaleAfterMs ?? DEFAULT_TICK_STALE_MS;
  return { status: 200, body: tickHealth(tick, nowMs, staleMs) };
}
