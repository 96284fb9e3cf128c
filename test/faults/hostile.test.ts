/**
 * Scenario 5: hostile definitions (hostile-cases.ts, 50+ generated cases).
 *  A. Each case ends in `convene validate` printing a located problem (`file:line:col`) and
 *     exiting 1, or, where the input is odd but harmless, exiting 0 with a preview that treats the
 *     odd value as data. Always within LIMIT_MS and a 256 MB heap (--max-old-space-size), and never
 *     a stack trace (30 s: see LIMIT_MS).
 *  B. Under a running worker, hostile edits applied one after another to its event never stop
 *     the last good version from sending: every recipient of the good version gets the letter.
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  Lab,
  ledgerOf,
  nowMinute,
  people,
  reconcile,
  sleep,
  summaryRow,
  until,
  workerEnv,
} from "./harness.js";
import { type HostileCase, hostileCases, useBase, writeGood } from "./hostile-cases.js";

// 20 s on an idle machine is ample (a validate run takes 2-3 s); the CI box is shared, so 30 s.
const LIMIT_MS = Number(process.env.FAULTS_VALIDATE_MS ?? 30_000);
const HEAP_MB = 256;
const PARALLEL = 2;
const lab = new Lab("hostile");
afterAll(async () => {
  await lab.close();
  lab.remove();
});

const STACK = /^\s+at .+:\d+:\d+\)?$/m;
const LOCATED = /[^\s:]+\.(yaml|csv|mjml|pdf|txt|yml):\d+:\d+/;

interface Outcome {
  name: string;
  expect: string;
  /** Exit code of the validate run the case was in (its own, or the batch's). */
  code: number | null;
  signal: string | null;
  ms: number;
  located: boolean;
  accepted: boolean;
  stack: boolean;
  out: string;
  safe?: string;
}

async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

const crashed = (out: string) => STACK.test(out) || /FATAL ERROR|heap out of memory/i.test(out);

/**
 * `convene validate` over some case folders at once, within LIMIT_MS and a HEAP_MB heap. A
 * case's problems are the output lines naming a file inside its folder.
 */
async function validate(dirs: { name: string; expect: string; dir: string }[]): Promise<Outcome[]> {
  const r = await lab.cli(["validate", ...dirs.map((d) => d.dir)], {}, LIMIT_MS, [
    `--max-old-space-size=${HEAP_MB}`,
  ]);
  const out = `${r.stdout}\n${r.stderr}`;
  return dirs.map((d) => {
    const mine = out
      .split("\n")
      .filter((l) => l.includes(`${d.dir}/`) || (dirs.length === 1 && l.trim()));
    const located = mine.some((l) => LOCATED.test(l) && l.includes(`${d.dir}/`));
    return {
      name: d.name,
      expect: d.expect,
      code: r.code,
      signal: r.signal,
      ms: r.ms,
      located,
      accepted: r.code === 0 || (r.code === 1 && !mine.some((l) => l.includes(`${d.dir}/`))),
      stack: crashed(out),
      out: (dirs.length === 1 ? out : mine.join(" ")).slice(0, 400),
    };
  });
}

/** Renders the step's preview of an accepted case and checks the odd value stayed data. */
async function previewSafe(dir: string, base: string, safe: NonNullable<HostileCase["safe"]>) {
  const prev = join(base, "preview");
  const p = await lab.cli(["preview", dir, "--step", "letter", "--out", prev], {}, 60_000);
  if (p.code !== 0)
    return `preview exit ${p.code ?? p.signal}: ${(p.stderr || p.stdout).slice(0, 200)}`;
  const files = readdirSync(prev);
  const read = (ext: string) =>
    files
      .filter((f) => f.endsWith(ext))
      .map((f) => readFileSync(join(prev, f), "utf8"))
      .join("");
  if (safe.htmlLacks && read(".html").includes(safe.htmlLacks))
    return `the html contains ${safe.htmlLacks}`;
  if (safe.textHas && !read(".txt").includes(safe.textHas)) return `the text lacks ${safe.textHas}`;
  return undefined;
}

describe("scenario 5: hostile definitions", () => {
  const cases = hostileCases();

  it(`${cases.length} generated cases: a located error and exit 1, or accepted safely; bounded time and memory; never a stack trace`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    const t0 = Date.now();
    const made = cases.map((c, i) => {
      const base = join(lab.base, `case-${String(i).padStart(2, "0")}`);
      const dir = join(base, "event");
      const outside = join(base, "outside");
      mkdirSync(outside, { recursive: true });
      writeGood(dir, "2099-01-10 09:00");
      c.apply(dir, outside);
      return { c, name: c.name, expect: c.expect, dir, base };
    });
    // The light cases share one run (a CLI start costs seconds of CPU); if that run crashes or
    // overruns, each is run alone so the culprit is named. Heavy ones always run alone.
    const light = made.filter((m) => !m.c.heavy);
    let lightOut = await validate(light);
    if (lightOut.some((o) => o.stack || o.signal || (o.code !== 0 && o.code !== 1)))
      lightOut = (await pool(light, PARALLEL, (m) => validate([m]))).flat();
    const heavyOut = (
      await pool(
        made.filter((m) => m.c.heavy),
        PARALLEL,
        (m) => validate([m]),
      )
    ).flat();
    const outcomes = [...lightOut, ...heavyOut];
    for (const o of outcomes) {
      const m = made.find((x) => x.name === o.name);
      if (m?.c.safe && o.accepted) o.safe = await previewSafe(m.dir, m.base, m.c.safe);
    }
    const wrong = outcomes.filter((o) => {
      if (o.signal || o.code === null || o.ms > LIMIT_MS || o.stack || o.safe) return true;
      if (o.code !== 0 && o.code !== 1) return true;
      if (o.expect === "error") return !o.located;
      return !o.accepted && !o.located;
    });
    summaryRow({
      scenario: `5a hostile definitions (${cases.length} cases)`,
      planned: cases.length,
      received: cases.length - wrong.length,
      lost: wrong.length,
      duplicates: 0,
      unconfirmed: 0,
      seconds: Math.round((Date.now() - t0) / 1000),
      note: `received = handled as required, lost = not; slowest run ${Math.max(...outcomes.map((o) => o.ms))} ms`,
    });
    expect(
      wrong.map(
        (o) =>
          `${o.name}: exit ${o.code ?? o.signal} in ${o.ms} ms${o.stack ? ", STACK TRACE" : ""}${o.located ? "" : ", no located error"}${o.safe ? `, ${o.safe}` : ""}: ${o.out.replace(/\s+/g, " ").slice(0, 160)}`,
      ),
    ).toEqual([]);
  });

  it("under a running worker, hostile edits never stop the last good version from sending", async () => {
    const t0 = Date.now();
    const redis = await lab.redis(6414);
    const relay = await lab.relay(6435);
    const N = 120;
    const dir = join(lab.events, "hostile");
    const ps = people(N);
    // The cases now mutate this event: its `at` and its 120 rows.
    useBase({ at: nowMinute(), rows: ps.map((p) => `${p.email},${p.name}\n`).join("") });
    writeGood(dir);
    const outside = join(lab.base, "live-outside");
    mkdirSync(outside, { recursive: true });
    const planned = (await lab.plan(dir)).map((s) => s.id);
    expect(planned).toHaveLength(N);
    const env = workerEnv(redis, "faults-hostile", relay.url, { SEND_RATE: "6" });
    const w = lab.worker("w", [dir, "--cron", "* * * * * *"], env);
    await until("the first letters", () => relay.received().messages >= 5, 60_000);
    const live = cases.filter((c) => c.live);
    expect(live.length).toBeGreaterThanOrEqual(8);
    const duringEdits: number[] = [];
    for (const c of live) {
      // Back to the good files, then the hostile edit on top, as one save after another.
      writeGood(dir);
      c.apply(dir, outside);
      await sleep(1_500);
      duringEdits.push(relay.received().messages);
    }
    // The last hostile edit stays in place until the end.
    await until(
      "every send of the good version sent",
      async () =>
        (await ledgerOf(redis.url, "faults-hostile", "hostile")).filter((x) => x.state === "sent")
          .length === N,
      90_000,
      1_000,
    ).catch(() => undefined);
    const received = relay.received();
    writeGood(dir);
    const st = await lab.status(dir, env);
    const r = reconcile({
      scenario: `5b hostile edits under a worker (${N} rcpt, ${live.length} edits)`,
      planned,
      received,
      marked: Lab.marked(st),
      started: t0,
    });
    expect(w.alive()).toBe(true);
    // Sending went on during the edits, not only after them.
    expect((duringEdits.at(-1) ?? 0) - (duringEdits[0] ?? 0)).toBeGreaterThan(0);
    expect(r.lostIds).toEqual([]);
    expect(r.duplicates).toBe(0);
    expect(r.strangers).toEqual([]);
    expect(lab.leaks()).toEqual([]);
  });
});
