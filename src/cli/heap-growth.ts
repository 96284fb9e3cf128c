/**
 * How far a `convene worker`'s heap may grow past what a full collection left live (V8's
 * `--heap-growing-percent`; CONVENE_HEAP_GROWTH in settings.ts). V8's own choice grows the heap
 * up to 4× what is live while a process allocates fast, which a big tick does, and sending
 * does too. Issue 12's memory target is a peak RSS under 250 MB at 100,000 recipients.
 */
import { GCProfiler, setFlagsFromString } from "node:v8";
import type { AroundTick } from "../worker/scheduler.js";

/**
 * V8 reads this flag each time a full collection sets the next limit, so setting it once the
 * process runs takes effect from the next one on (Node has no other way to pass it to a process
 * started as `convene`: NODE_OPTIONS refuses it). It bounds the growth, not the heap: a bigger
 * event still fits. 0 gives V8 its own choice back.
 */
function limitHeapGrowth(percent: number): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** How far the heap may grow while a tick or the start-up check runs, by default. */
export const TICK_HEAP_GROWTH = 20;

/**
 * A live heap this large, after a full collection, holds the whole process to
 * LARGE_HEAP_GROWTH, between ticks too. A worker with 5,000 recipients keeps about 45–60 MB
 * live, where V8's own growth costs up to a third less CPU per message than 20 % (README,
 * "Tuning throughput"). At 100,000 recipients about 96 MB stays live after the first tick,
 * and V8's own growth while sending took the RSS to 385–447 MB. About 40,000 recipients
 * cross it.
 */
export const LARGE_LIVE_HEAP = 80 * 1024 * 1024;

/**
 * How far a large heap may grow, in ticks and between them: at 100 MB live, a full collection
 * after about every 10 MB that outlives the young generation. Measured against 20 % in the
 * README ("Tuning throughput").
 */
export const LARGE_HEAP_GROWTH = 10;

/**
 * Holds growth to TICK_HEAP_GROWTH through a synchronous step that allocates like a tick: the
 * start-up check reads the whole event, 100,000 CSV rows, before the settings (and so
 * CONVENE_HEAP_GROWTH) are read; heapGrowthAroundTicks sets the policy after it.
 */
export function heldWhile<T>(step: () => T): T {
  limitHeapGrowth(TICK_HEAP_GROWTH);
  try {
    return step();
  } finally {
    limitHeapGrowth(0);
  }
}

/**
 * CONVENE_HEAP_GROWTH above 0 holds the whole process to it. At 0, the default: while the
 * last full collection left more than LARGE_LIVE_HEAP live, LARGE_HEAP_GROWTH throughout;
 * otherwise ticks are held to TICK_HEAP_GROWTH, and V8 chooses in between from the first full
 * collection after a tick on. The size comes from the collections themselves (V8's record of
 * each, read every LOOK_MS and at the end of each tick), so a worker whose events shrink gets
 * V8's choice back. `stop` ends the recording.
 */
export function heapGrowthAroundTicks(percent: number): {
  aroundTick?: AroundTick;
  stop: () => void;
} {
  if (percent > 0) {
    limitHeapGrowth(percent);
    return { stop: () => undefined };
  }
  // After a tick (or the start-up check), its growth stays until a full collection has measured
  // what it left live: set back to V8's own at its end, the next limit would be set with V8's
  // own growth if no collection came in the tick's last steps, up to 4× a heap of 100 MB.
  const state = { ticking: false, large: false, measured: false };
  const apply = () =>
    limitHeapGrowth(
      state.large ? LARGE_HEAP_GROWTH : state.ticking || !state.measured ? TICK_HEAP_GROWTH : 0,
    );
  apply();
  const collections = liveAfterCollections();
  const look = () => {
    const live = collections.take();
    if (live === undefined) return;
    state.large = live > LARGE_LIVE_HEAP;
    if (!state.ticking) state.measured = true;
    apply();
  };
  const timer = setInterval(look, LOOK_MS);
  timer.unref();
  const aroundTick: AroundTick = async (tick) => {
    state.ticking = true;
    apply();
    try {
      return await tick();
    } finally {
      look();
      state.ticking = false;
      state.measured = false;
      apply();
    }
  };
  return {
    aroundTick,
    stop: () => {
      clearInterval(timer);
      collections.stop();
    },
  };
}

/** How often the collections since the last look are read. */
const LOOK_MS = 2_000;

/**
 * The heap a full collection left live, from V8's own record of it (v8.GCProfiler, which
 * gives each collection's heap statistics after it). A PerformanceObserver of GCs says only
 * that one happened, and the heap read when it reports has grown again: while sending, by
 * tens of MB of promoted garbage, which made a small heap look large. `take` gives the last
 * full collection's since the last take, if any, and starts recording afresh.
 */
function liveAfterCollections(): { take: () => number | undefined; stop: () => void } {
  let profiler = new GCProfiler();
  profiler.start();
  return {
    take() {
      const seen = profiler.stop()?.statistics ?? [];
      profiler = new GCProfiler();
      profiler.start();
      const full = seen.filter((g) => g.gcType === "MarkSweepCompact").at(-1);
      return full?.afterGC.heapStatistics.usedHeapSize;
    },
    stop: () => profiler.stop(),
  };
}
