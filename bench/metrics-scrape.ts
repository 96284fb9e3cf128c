/**
 * How long /metrics' ledger count takes for a large event: fills one event's ledger hash with
 * N records under a throwaway prefix, then times tallyLedger over LedgerScan (what a scrape
 * runs). `npx tsx bench/metrics-scrape.ts [N]`; REDIS_URL or the local default.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { tallyLedger } from "../src/http/metrics.js";
import { keys } from "../src/store/keys.js";
import { LedgerScan } from "../src/store/ledger-scan.js";

const n = Number(process.argv[2] ?? 100_000);
const redis = new Redis(process.env.REDIS_URL || "redis://127.0.0.1:6379");
const prefix = `convene-bench-metrics-${randomBytes(4).toString("hex")}`;
const k = keys(prefix);
const states = ["sent", "sent", "sent", "scheduled", "missed", "failed", "suppressed"];
try {
  for (let i = 0; i < n; i += 5_000) {
    const args: string[] = [];
    for (let j = i; j < Math.min(n, i + 5_000); j++)
      args.push(
        `big.step-${j % 7}.${j.toString(16).padStart(16, "0")}`,
        JSON.stringify({
          s: states[j % states.length],
          n: 1,
          e: `p${j}@x.test`,
          k: "announcement",
          q: 1,
          t: 1,
        }),
      );
    await redis.hset(k.ledger("big"), ...args);
  }
  const scan = new LedgerScan(redis, k);
  for (let run = 0; run < 3; run++) {
    const t0 = process.hrtime.bigint();
    const counts = await tallyLedger("big", scan.entries("big"));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const total = counts.reduce((s, c) => s + c.count, 0);
    console.log(`run ${run + 1}: ${total} records counted in ${ms.toFixed(0)} ms`);
  }
} finally {
  await redis.del(k.ledger("big"));
  redis.disconnect();
}
