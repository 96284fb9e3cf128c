/**
 * The golden check of the bundled rehearsal (run in test/firstrun/first-rehearsal.test.ts, on the
 * outbox that test's rehearsal writes) rests on these rules; here they are shown to hold on real
 * outbox files, written by the real composer and outbox, so that the check can fail for each
 * kind of change and forgives only what legitimately varies.
 */

import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DateTime } from "luxon";
import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { Outbox } from "../../src/mail/outbox.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { ROOT } from "../support/cli.js";
import {
  compareToGolden,
  type Digests,
  formatGolden,
  GOLDEN_COMMAND,
  outboxDigests,
  parseGolden,
  readGolden,
  stepOf,
} from "../support/rehearsal-golden.js";

const def = loadEventOrThrow(join(ROOT, "test", "fixtures", "mail", "seed-letter"), KINDS);
const sends = plan(def, def.registrations, DateTime.fromISO("2017-07-01T00:00:00Z"));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** An outbox of every send of the seed-letter fixture, dated `now` (the Date and DTSTAMP). */
async function writeOutbox(now: DateTime): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "convene-golden-"));
  dirs.push(dir);
  const outbox = new Outbox(dir, def.event.timezone);
  const config = loadConfig({ OUTBOX_DIR: dir });
  for (const s of sends) await outbox.write(await composeMessage(def, s, { config, now }));
  await outbox.close();
  return dir;
}

const first = writeOutbox(DateTime.fromISO("2017-05-15T16:00:00Z"));
const emlOf = (dir: string, step: string) =>
  readdirSync(dir).find((f) => f.endsWith(".eml") && stepOf(f) === step) as string;

const clean = { changed: [], missing: [], added: [] };

describe("the rehearsal golden check", () => {
  it("sees no difference between two outboxes of the same sends written at other times", async () => {
    const a = await first;
    const b = await writeOutbox(DateTime.fromISO("2017-05-16T08:30:00Z"));
    const letter = emlOf(a, "invitation-letter");
    // The raw files do differ: in the Date, the DTSTAMP and the random MIME boundaries.
    expect(readFileSync(join(a, letter), "utf8")).not.toBe(readFileSync(join(b, letter), "utf8"));
    expect(readFileSync(join(a, letter), "utf8")).toMatch(/boundary="/);
    expect(compareToGolden(outboxDigests(a), outboxDigests(b))).toEqual(clean);
  });

  it("reports one changed byte of a message body", async () => {
    const a = await first;
    const golden = outboxDigests(a);
    const file = emlOf(a, "invitation-letter");
    const text = readFileSync(join(a, file), "latin1");
    const at = text.indexOf("Dear ");
    expect(at).toBeGreaterThan(0);
    writeFileSync(join(a, file), `${text.slice(0, at)}d${text.slice(at + 1)}`, "latin1");
    try {
      expect(compareToGolden(golden, outboxDigests(a))).toEqual({ ...clean, changed: [file] });
    } finally {
      writeFileSync(join(a, file), text, "latin1");
    }
  });

  it("reports a changed Message-ID: it is the send id, not a run-to-run value", async () => {
    const a = await first;
    const golden = outboxDigests(a);
    const file = emlOf(a, "invitation-letter");
    const text = readFileSync(join(a, file), "latin1");
    expect(text).toMatch(/@cdefoundation\.org>/);
    writeFileSync(join(a, file), text.replace("@cdefoundation.org>", "@elsewhere.test>"), "latin1");
    try {
      expect(compareToGolden(golden, outboxDigests(a)).changed).toEqual([file]);
    } finally {
      writeFileSync(join(a, file), text, "latin1");
    }
  });

  it("reports a missing message file and a new message of a known step", async () => {
    const a = await first;
    const golden = outboxDigests(a);
    const file = emlOf(a, "invitation-letter");
    const txt = file.replace(/\.eml$/, ".txt");
    const saved = readFileSync(join(a, txt));
    const extra = file.replace(/\.[0-9a-f]+\.eml$/, ".0000000000000000.eml");
    unlinkSync(join(a, txt));
    copyFileSync(join(a, file), join(a, extra));
    try {
      expect(compareToGolden(golden, outboxDigests(a))).toEqual({
        ...clean,
        missing: [txt],
        added: [extra],
      });
    } finally {
      writeFileSync(join(a, txt), saved);
      unlinkSync(join(a, extra));
    }
  });

  it("passes over every file of a step the baseline never had (a new kind), but not a stray file", async () => {
    const a = await first;
    const golden = outboxDigests(a);
    const thanks = "seed-letter.thank-you.0123456789abcdef";
    for (const ext of ["eml", "txt", "html", "json"])
      writeFileSync(join(a, `${thanks}.${ext}`), "x");
    writeFileSync(join(a, "stray.txt"), "x");
    try {
      expect(compareToGolden(golden, outboxDigests(a))).toEqual({ ...clean, added: ["stray.txt"] });
    } finally {
      for (const ext of ["eml", "txt", "html", "json"]) unlinkSync(join(a, `${thanks}.${ext}`));
      unlinkSync(join(a, "stray.txt"));
    }
  });

  it("splits the rehearsal's report per step, so a new step's group changes none of the others", async () => {
    const a = await first;
    const group = (step: string) => ({ step, kind: step, rows: [{ id: `${step}.1` }] });
    const report = { event: "seed-letter", title: "T", zone: "UTC" };
    writeFileSync(
      join(a, "report.json"),
      JSON.stringify({ ...report, groups: [group("invitation-letter")] }),
    );
    const golden = outboxDigests(a);
    expect(golden.has("report.json#invitation-letter")).toBe(true);
    writeFileSync(
      join(a, "report.json"),
      JSON.stringify({ ...report, groups: [group("invitation-letter"), group("thank-you")] }),
    );
    expect(compareToGolden(golden, outboxDigests(a))).toEqual(clean);
    appendFileSync(join(a, "report.json"), " ");
    const changedRow = { ...group("invitation-letter"), rows: [{ id: "other" }] };
    writeFileSync(join(a, "report.json"), JSON.stringify({ ...report, groups: [changedRow] }));
    try {
      expect(compareToGolden(golden, outboxDigests(a)).changed).toEqual([
        "report.json#invitation-letter",
      ]);
    } finally {
      unlinkSync(join(a, "report.json"));
    }
  });

  it("round-trips through the baseline format, whose header says how it was made", async () => {
    const digests: Digests = outboxDigests(await first);
    const text = formatGolden(digests, "abc1234");
    expect(text).toContain(GOLDEN_COMMAND);
    expect(parseGolden(text)).toEqual(digests);
  });

  it("has a committed baseline of the bundled campaign's 903 messages in 9 steps", () => {
    const golden = readGolden();
    const emls = [...golden.keys()].filter((k) => k.endsWith(".eml"));
    expect(emls).toHaveLength(903);
    expect(new Set(emls.map(stepOf)).size).toBe(9);
  });
});
