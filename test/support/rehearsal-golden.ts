/**
 * The rehearsal outbox as a list of digests, to prove a refactor changed no byte a recipient
 * would get. Only what legitimately differs between two runs of the same code is normalised:
 *  - the Date header and DTSTAMP: the issue allows them to change (they follow the clock);
 *    the outbox repeats the Date as `when` in its .json files and on each message page;
 *  - MIME boundaries: nodemailer draws them at random for every message (two rehearsals of
 *    one commit differ in nothing else).
 * The Message-ID is not normalised: it is the deterministic send id.
 *
 * The outbox's aggregates (report.json, index.json, index.html) are digested per step, so a
 * step the baseline has never seen (a new kind added to the bundled campaign) neither fails the
 * check nor needs the baseline regenerated.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./cli.js";

export const GOLDEN = join(ROOT, "test", "fixtures", "rehearsal-golden.txt");
export const GOLDEN_COMMAND =
  "npm run build && npx convene rehearse events/ca-lmi-2017 && npx tsx bench/rehearsal-golden.ts outbox/ca-lmi-2017-rehearsal";

/** File name → digest key for whole files; `file#step` for a step's part of an aggregate. */
export type Digests = Map<string, string>;

const AGGREGATES = new Set(["report.json", "index.json", "index.html"]);

function sha256(text: string): string {
  return createHash("sha256").update(text, "latin1").digest("hex");
}

/**
 * Each distinct boundary becomes BOUNDARY-1, -2…, numbered in order of first use and replaced
 * longest first, since "…Part_1" is the start of "…Part_10".
 */
function normaliseBoundaries(text: string): string {
  const found = [...text.matchAll(/boundary="?([^";\s]+)"?/gi)].map((m) => m[1] as string);
  const numbered = [...new Set(found)].map((b, i) => [b, `BOUNDARY-${i + 1}`] as const);
  let out = text;
  for (const [b, label] of numbered.sort(([a], [b]) => b.length - a.length))
    out = out.split(b).join(label);
  return out;
}

const normaliseStamp = (text: string) => text.replace(/^DTSTAMP:[^\r\n]*/gm, "DTSTAMP:<dtstamp>");

/**
 * A calendar attached in base64 hides its DTSTAMP from a line match: such a part is compared
 * decoded, with the stamp normalised. Other base64 parts (a PDF flyer) are left as they are.
 */
function normaliseEncodedCalendars(text: string): string {
  return text.replace(/(\r?\n\r?\n)([A-Za-z0-9+/=\r\n]+?)(?=\r?\n--)/g, (all, gap, b64) => {
    const decoded = Buffer.from(b64 as string, "base64").toString("latin1");
    if (!decoded.includes("BEGIN:VCALENDAR")) return all;
    return `${gap}<base64 of>\r\n${normaliseStamp(decoded)}`;
  });
}

function normaliseEml(text: string): string {
  const end = text.search(/\r?\n\r?\n/);
  const head = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? "" : text.slice(end);
  const dated = head.replace(/^Date: [^\r\n]*/m, "Date: <date>") + body;
  return normaliseStamp(normaliseEncodedCalendars(normaliseBoundaries(dated)));
}

const normaliseWhen = (text: string) => text.replace(/"when": "[^"]*"/g, '"when": "<date>"');

/** The bytes of one outbox file with only the run-to-run variation replaced (latin1: lossless). */
export function normalise(file: string, text: string): string {
  if (file.endsWith(".eml")) return normaliseEml(text);
  if (file.endsWith(".ics")) return normaliseStamp(text);
  if (file.endsWith(".json")) return normaliseWhen(text);
  if (file.endsWith(".html")) return text.replace(/<b>Date:<\/b> [^<]*/g, "<b>Date:</b> <date>");
  return text;
}

/** `ca-lmi-2017.<step>.<hash>.<ext>` or `<aggregate>#<step>`: the step a digest belongs to. */
export function stepOf(key: string): string | undefined {
  const hash = key.indexOf("#");
  if (hash >= 0) return key.slice(hash + 1);
  const parts = key.split(".");
  return parts.length >= 4 ? parts[parts.length - 3] : undefined;
}

interface ReportGroup {
  step: string;
}

function reportParts(text: string): [string, string][] {
  const { groups, ...meta } = JSON.parse(text) as { groups: ReportGroup[] };
  return [
    ["report.json", JSON.stringify(meta)],
    ...groups.map((g): [string, string] => [`report.json#${g.step}`, JSON.stringify(g)]),
  ];
}

function indexJsonParts(text: string): [string, string][] {
  const byStep = new Map<string, unknown[]>();
  for (const e of JSON.parse(text) as { step: string; when: string }[])
    byStep.set(e.step, [...(byStep.get(e.step) ?? []), { ...e, when: "<date>" }]);
  return [...byStep].map(([step, entries]) => [`index.json#${step}`, JSON.stringify(entries)]);
}

/**
 * The index page's section of each step. The few lines above the sections count every step
 * (a new kind changes them), so they are left out; report.json carries the same counts per step.
 */
function indexHtmlParts(text: string): [string, string][] {
  return [...text.matchAll(/<section id="step-([^"]+)">[\s\S]*?<\/section>/g)].map((m) => [
    `index.html#${m[1]}`,
    m[0],
  ]);
}

function aggregateParts(file: string, text: string): [string, string][] {
  if (file === "report.json") return reportParts(text);
  if (file === "index.json") return indexJsonParts(text);
  return indexHtmlParts(text);
}

/** Every file of the outbox (aggregates split per step), normalised and digested. */
export function outboxDigests(dir: string): Digests {
  const out: Digests = new Map();
  for (const file of readdirSync(dir).sort()) {
    if (file.startsWith(".")) continue;
    const text = readFileSync(join(dir, file), "latin1");
    if (AGGREGATES.has(file))
      for (const [key, part] of aggregateParts(file, text)) out.set(key, sha256(part));
    else out.set(file, sha256(normalise(file, text)));
  }
  return out;
}

export function formatGolden(digests: Digests, commit: string): string {
  const lines = [...digests].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k} ${v}`);
  return [
    `# The bundled rehearsal's outbox at ${commit}, normalised (test/support/rehearsal-golden.ts).`,
    `# Regenerate only for an intended change of what recipients get: ${GOLDEN_COMMAND}`,
    ...lines,
    "",
  ].join("\n");
}

export function parseGolden(text: string): Digests {
  const out: Digests = new Map();
  for (const line of text.split("\n")) {
    if (!line.trim() || line.startsWith("#")) continue;
    const [key, digest] = line.split(" ");
    if (!key || !digest) throw new Error(`malformed golden line: ${line}`);
    out.set(key, digest);
  }
  return out;
}

export function readGolden(path = GOLDEN): Digests {
  return parseGolden(readFileSync(path, "utf8"));
}

export interface GoldenDiff {
  changed: string[];
  missing: string[];
  added: string[];
}

/**
 * What differs from the baseline. A digest of a step the baseline has no digest of at all is
 * not "added": it is a step (a kind) that did not exist when the baseline was taken.
 */
export function compareToGolden(golden: Digests, actual: Digests): GoldenDiff {
  const knownSteps = new Set([...golden.keys()].map(stepOf));
  const changed: string[] = [];
  const missing: string[] = [];
  for (const [key, digest] of golden) {
    const now = actual.get(key);
    if (now === undefined) missing.push(key);
    else if (now !== digest) changed.push(key);
  }
  const added = [...actual.keys()].filter((k) => {
    if (golden.has(k)) return false;
    const step = stepOf(k);
    return step === undefined || knownSteps.has(step);
  });
  return { changed, missing, added };
}
