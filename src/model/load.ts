import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type { z } from "zod";
import { type KindRegistry, knownKinds } from "../kind.js";
import { parseRecipients, parseRegistrations } from "./csv.js";
import { checkEventPath } from "./event-path.js";
import { calendarItems } from "./items.js";
import { findTemplate, resolveAttachment, resolveInside } from "./paths.js";
import { DefinitionError, isError, type Problem } from "./problems.js";
import {
  type CampaignSpec,
  campaign,
  type EventSpec,
  event,
  type StepSpec,
  step,
} from "./schema.js";
import { isValidZone, parseDuration } from "./time.js";
import type { EventDefinition, Recipient } from "./types.js";
import { MAX_YAML_BYTES, type PathKey, YamlSource } from "./yaml-source.js";

export const EVENT_FILE = "event.yaml";
export const CAMPAIGN_FILE = "campaign.yaml";

export interface LoadResult {
  definition?: EventDefinition;
  problems: Problem[];
}

/** Paths are shown relative to the working directory, as an organizer typed them. */
function display(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith("..") ? r : p;
}

function readText(file: string, problems: Problem[]): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    problems.push({
      file: display(file),
      line: 1,
      col: 1,
      message: `cannot read: ${(e as Error).message}`,
    });
    return undefined;
  }
}

/**
 * A CSV is read whole on every reload; 10 MB holds tens of thousands of recipients, far more than
 * one event's audience.
 */
const MAX_CSV_BYTES = 10 * 1024 * 1024;

/**
 * Reads a file the definition names, only after checking that it is a regular file inside the
 * event folder and not too large; otherwise `refuse` reports why, where the file is named.
 */
function readInside(
  dir: string,
  written: string,
  maxBytes: number,
  problems: Problem[],
  refuse: (reason: string) => Problem,
): { file: string; text: string } | undefined {
  const r = resolveInside(dir, written, maxBytes);
  if (!r.ok) {
    problems.push(refuse(r.reason));
    return undefined;
  }
  const file = join(dir, written);
  const text = readText(r.path, problems);
  return text === undefined ? undefined : { file, text };
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && /received undefined/.test(issue.message))
    return "is required";
  if (issue.code === "invalid_type")
    return `must be ${issue.expected === "record" || issue.expected === "object" ? "a mapping (key: value)" : issue.expected === "array" ? "a list" : `a ${issue.expected}`}`;
  if (issue.code === "invalid_value")
    return `must be one of ${issue.values.map(String).join(", ")}`;
  return issue.message;
}

function fieldName(path: readonly PathKey[]): string {
  return path
    .map((k, i) => (typeof k === "number" ? `[${k}]` : `${i ? "." : ""}${String(k)}`))
    .join("");
}

/** Maps zod issues onto the YAML source, so each names its file, line, column and field. */
export function zodProblems(src: YamlSource, issues: readonly z.core.$ZodIssue[]): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        out.push(
          src.problemAt(path, `${fieldName(path)}: unknown key (check the spelling)`, {
            key: true,
          }),
        );
      }
    } else if (issue.code === "invalid_union" && issue.errors.length) {
      // Report the branch that got furthest: the one whose first issue lies deepest.
      const depth = (errs: readonly z.core.$ZodIssue[]) =>
        Math.max(...errs.map((e) => e.path.length));
      const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0] ?? [];
      out.push(
        ...zodProblems(
          src,
          best.map((e) => ({ ...e, path: [...issue.path, ...e.path] })),
        ),
      );
    } else {
      const path = issue.path;
      const name = path.length ? `${fieldName(path)}: ` : "";
      out.push(src.problemAt(path, `${name}${issueMessage(issue)}`));
    }
  }
  return out;
}

interface Loaded<T> {
  src?: YamlSource;
  /** The valid value, only when the file has no problems. */
  value?: T;
  /**
   * Best effort when it has: the value with unknown keys dropped, if that parses. Used only to
   * keep checking other files against it, never to run a campaign.
   */
  lenient?: T;
}

function withoutKeys(value: unknown, issues: readonly z.core.$ZodIssue[]): unknown {
  const copy = structuredClone(value);
  for (const issue of issues) {
    if (issue.code !== "unrecognized_keys") continue;
    let node = copy as Record<PropertyKey, unknown> | undefined;
    for (const k of issue.path)
      node = node?.[k as PropertyKey] as Record<PropertyKey, unknown> | undefined;
    for (const k of issue.keys) if (node) delete node[k];
  }
  return copy;
}

function loadYaml<T>(
  dir: string,
  name: string,
  schema: z.ZodType<T>,
  problems: Problem[],
): Loaded<T> {
  const file = display(join(dir, name));
  const read = readInside(dir, name, MAX_YAML_BYTES, problems, (reason) => ({
    file,
    line: 1,
    col: 1,
    message: `file ${reason}`,
  }));
  if (!read) return {};
  const src = new YamlSource(file, read.text);
  problems.push(...src.problems);
  if (src.problems.length) return { src };
  const parsed = schema.safeParse(src.value ?? {});
  if (parsed.success) return { src, value: parsed.data };
  problems.push(...zodProblems(src, parsed.error.issues));
  const retry = schema.safeParse(withoutKeys(src.value ?? {}, parsed.error.issues));
  return retry.success ? { src, lenient: retry.data } : { src };
}

/** The steps that parse on their own, so one broken step does not hide the others' problems. */
function lenientCampaign(src: YamlSource): CampaignSpec | undefined {
  const raw = src.value as { steps?: unknown } | undefined;
  if (!Array.isArray(raw?.steps)) return undefined;
  const steps = raw.steps.flatMap((s) => {
    const first = step.safeParse(s);
    if (first.success) return [first.data];
    const again = step.safeParse(withoutKeys(s, first.error.issues));
    return again.success ? [again.data] : [];
  });
  return steps.length ? { steps } : undefined;
}

/** An event is a directory holding event.yaml and campaign.yaml, or the path of its event.yaml. */
export function eventDirOf(path: string): string {
  const abs = resolve(path);
  return existsSync(abs) && statSync(abs).isDirectory() ? abs : dirname(abs);
}

/** Event directories below the given paths: a path is itself an event or a folder of events. */
export function findEventDirs(paths: string[]): string[] {
  const dirs: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    if (existsSync(abs) && statSync(abs).isDirectory() && !existsSync(join(abs, EVENT_FILE))) {
      const subs = readdirSync(abs)
        .map((n) => join(abs, n))
        .filter((d) => statSync(d).isDirectory() && existsSync(join(d, EVENT_FILE)))
        .sort();
      dirs.push(...(subs.length ? subs : [abs]));
    } else dirs.push(eventDirOf(abs));
  }
  return dirs;
}

type CsvReader = (path: PathKey[], written: string) => ReturnType<typeof readInside>;

/** Each audience's CSV, read inside the event folder and parsed; unreadable ones are problems. */
function readAudiences(
  specs: Record<string, unknown>,
  csvAt: CsvReader,
  problems: Problem[],
): Record<string, Recipient[]> {
  const audiences: Record<string, Recipient[]> = {};
  for (const [name, a] of Object.entries(specs)) {
    if (!isRecord(a) || typeof a.file !== "string") continue;
    const read = csvAt(["audiences", name, "file"], a.file);
    if (read) audiences[name] = parseRecipients(display(read.file), read.text, problems);
  }
  return audiences;
}

function readRegistrations(
  raw: Partial<EventSpec>,
  zone: string,
  csvAt: CsvReader,
  problems: Problem[],
): EventDefinition["registrations"] {
  const regFile = isRecord(raw.registrations) ? raw.registrations.file : undefined;
  if (typeof regFile !== "string") return [];
  const read = csvAt(["registrations", "file"], regFile);
  return read ? parseRegistrations(display(read.file), read.text, zone, problems) : [];
}

/** A registration names a team that no audience has: located at its CSV row. */
function unknownTeams(
  audiences: Record<string, Recipient[]>,
  registrations: EventDefinition["registrations"],
): Problem[] {
  const teams = new Set(
    Object.values(audiences).flatMap((rs) => rs.flatMap((r) => (r.team ? [r.team] : []))),
  );
  return registrations.flatMap((reg) =>
    !teams.has(reg.team) && reg.source
      ? [
          {
            file: reg.source.file,
            line: reg.source.line,
            col: 1,
            message: `team: "${reg.team}" is not a team in any audience`,
          },
        ]
      : [],
  );
}

/** Loads and checks an event; `kinds` is the registry (jobs/index.ts) its steps may name. */
export function loadEvent(path: string, kinds: KindRegistry): LoadResult {
  const dir = eventDirOf(path);
  const problems: Problem[] = [];
  const ev = loadYaml<EventSpec>(dir, EVENT_FILE, event, problems);
  const cp = loadYaml<CampaignSpec>(dir, CAMPAIGN_FILE, campaign, problems);
  if (!ev.src) return { problems };
  // When event.yaml has schema errors we still check the CSVs and the campaign against what
  // can be read, so one run reports every mistake rather than the first file's.
  const evView = ev.value ?? ev.lenient;
  const raw = (evView ?? ev.src.value ?? {}) as Partial<EventSpec>;
  const audienceSpecs = isRecord(raw.audiences) ? raw.audiences : {};
  const zoneName =
    typeof raw.timezone === "string" && isValidZone(raw.timezone) ? raw.timezone : "UTC";

  const evSrc = ev.src;
  const csvAt: CsvReader = (path, written) =>
    readInside(dir, written, MAX_CSV_BYTES, problems, (reason) =>
      evSrc.problemAt(path, `${fieldName(path)}: ${written} ${reason}`),
    );
  const audiences = readAudiences(audienceSpecs, csvAt, problems);
  const registrations = readRegistrations(raw, zoneName, csvAt, problems);
  if (evView) problems.push(...checkEvent(evView, ev.src));
  problems.push(...unknownTeams(audiences, registrations));

  const cpView = cp.value ?? cp.lenient ?? (cp.src ? lenientCampaign(cp.src) : undefined);
  // An event.yaml that could not be read at all defines no audiences to check against; saying
  // "unknown audience" for every step would only bury its real problem.
  const audienceNames = ev.src.value === undefined ? undefined : Object.keys(audienceSpecs);
  if (cpView && cp.src)
    problems.push(
      ...checkCampaign({
        dir,
        ev: evView,
        audienceNames,
        cp: cpView,
        src: cp.src,
        audiences,
        kinds,
      }),
    );
  if (problems.some(isError) || !ev.value || !cp.value) return { problems };
  return {
    problems,
    definition: {
      dir,
      files: { event: display(join(dir, EVENT_FILE)), campaign: display(join(dir, CAMPAIGN_FILE)) },
      event: ev.value,
      campaign: cp.value,
      audiences,
      registrations,
      kinds,
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Loads one event or throws a DefinitionError listing every problem. */
export function loadEventOrThrow(path: string, kinds: KindRegistry): EventDefinition {
  checkEventPath(path);
  const r = loadEvent(path, kinds);
  if (!r.definition) throw new DefinitionError(r.problems);
  return r.definition;
}

function checkEvent(ev: EventSpec, src: YamlSource): Problem[] {
  const out: Problem[] = [];
  const ids = new Map<string, string>();
  const claim = (id: string | undefined, path: PathKey[]) => {
    if (!id) return;
    const first = ids.get(id);
    if (first)
      out.push(src.problemAt(path, `${fieldName(path)}: id "${id}" is already used at ${first}`));
    else ids.set(id, fieldName(path));
  };
  ev.days.forEach((day, d) => {
    claim(day.id, ["days", d, "id"]);
    if (!!day.start !== !!day.end)
      out.push(
        src.problemAt(
          ["days", d],
          `days[${d}]: give both start and end, or neither for an all-day item`,
        ),
      );
    if (day.start && day.end && day.end <= day.start)
      out.push(
        src.problemAt(["days", d, "end"], `days[${d}].end: must be after start (${day.start})`),
      );
    day.sessions?.forEach((s, i) => {
      claim(s.id, ["days", d, "sessions", i, "id"]);
      if (s.end && pad(s.end) <= pad(s.start))
        out.push(
          src.problemAt(
            ["days", d, "sessions", i, "end"],
            `days[${d}].sessions[${i}].end: must be after start (${s.start})`,
          ),
        );
      const prev = day.sessions?.[i - 1];
      if (prev && pad(prev.start) > pad(s.start))
        out.push(
          src.problemAt(
            ["days", d, "sessions", i, "start"],
            `days[${d}].sessions[${i}].start: sessions must be in time order`,
          ),
        );
    });
  });
  ev.series?.forEach((series, si) => {
    claim(series.id, ["series", si, "id"]);
    const numbers = new Set(series.sessions.map((s) => s.number));
    series.cohorts.forEach((c, ci) => {
      c.sessions.forEach((cs, k) => {
        if (!numbers.has(cs.session))
          out.push(
            src.problemAt(
              ["series", si, "cohorts", ci, "sessions", k, "session"],
              `series[${si}].cohorts[${ci}].sessions[${k}].session: no session ${cs.session} in this series`,
            ),
          );
        if (cs.endDate && cs.date !== "TBD" && cs.endDate < cs.date)
          out.push(
            src.problemAt(
              ["series", si, "cohorts", ci, "sessions", k, "endDate"],
              `endDate: must not be before date (${cs.date})`,
            ),
          );
      });
    });
  });
  ev.related?.forEach((r, i) => {
    claim(r.id, ["related", i, "id"]);
    if (r.endDate && r.startDate && r.startDate !== "TBD" && r.endDate < r.startDate)
      out.push(
        src.problemAt(
          ["related", i, "endDate"],
          `related[${i}].endDate: must not be before startDate`,
        ),
      );
  });
  return out;
}

function pad(t: string): string {
  return t.padStart(5, "0");
}

type At = (path: PathKey[], msg: string) => void;

function checkTrigger(
  step: StepSpec,
  recipients: Recipient[] | undefined,
  itemIds: Set<string> | undefined,
  at: At,
): void {
  const t = step.trigger;
  if (!!t.at === !!t.anchor)
    at(["trigger"], "give either `at` (a local time) or `anchor` (with an optional offset)");
  if (t.at && (t.offset || t.time))
    at(["trigger"], "`offset` and `time` go with `anchor`, not with `at`");
  if (itemIds && t.anchor?.startsWith("item:") && !itemIds.has(t.anchor.slice(5)))
    at(["trigger", "anchor"], `no calendar item "${t.anchor.slice(5)}"`);
  if (t.time && t.offset && (parseDuration(t.offset)?.minutes ?? 0) !== 0)
    at(["trigger", "offset"], "with a fixed `time`, the offset must be whole days (like -7d)");
  if (t.anchor === "registration" && recipients && !recipients.some((r) => r.team))
    at(
      ["trigger", "anchor"],
      `"registration" needs recipients with a team column, and audience "${step.audience}" has none`,
    );
}

/** The step's kind is one of the registry's, with a template. */
function checkKind(dir: string, step: StepSpec, kinds: KindRegistry, at: At): void {
  const kind = kinds.get(step.kind);
  if (!kind) at(["kind"], `unknown kind "${step.kind}" (known: ${knownKinds(kinds)})`);
  // An unknown kind has no template to look for; saying so too would only repeat the problem.
  const template = kind || step.template ? findTemplate(dir, step.template ?? step.kind) : null;
  if (template && !template.ok) at([step.template ? "template" : "kind"], template.reason);
}

/** Only a kind that invites sends calendar items, so only its steps may list them. */
function checkItemsAllowed(step: StepSpec, kinds: KindRegistry, at: At): void {
  const kind = kinds.get(step.kind);
  if (!step.items || !kind || kind.invites) return;
  const inviting = [...kinds.values()].filter((k) => k.invites).map((k) => k.name);
  at(
    ["items"],
    inviting.length
      ? `only ${inviting.join(" and ")} steps send calendar items`
      : "no kind sends calendar items",
  );
}

function checkWhen(step: StepSpec, recipients: Recipient[] | undefined, at: At): void {
  if (step.when?.registered !== undefined && recipients && !recipients.some((r) => r.team))
    at(
      ["when", "registered"],
      `audience "${step.audience}" has no team column, so registration cannot be checked`,
    );
  for (const col of Object.keys(step.when?.where ?? {})) {
    const known = recipients?.some((r) => col in r.fields || col in r);
    if (recipients && !known)
      at(["when", "where", col], `audience "${step.audience}" has no column "${col}"`);
  }
}

interface CampaignInput {
  dir: string;
  ev: EventSpec | undefined;
  audienceNames: string[] | undefined;
  cp: CampaignSpec;
  src: YamlSource;
  audiences: Record<string, Recipient[]>;
  kinds: KindRegistry;
}

function checkCampaign({
  dir,
  ev,
  audienceNames,
  cp,
  src,
  audiences,
  kinds,
}: CampaignInput): Problem[] {
  const out: Problem[] = [];
  // Item and `about` references can only be checked against a valid event.
  const itemIds = ev ? new Set(calendarItems(ev).map((i) => i.id)) : undefined;
  const aboutIds = ev
    ? new Set([...(ev.related ?? []).map((r) => r.id), ...(ev.series ?? []).map((s) => s.id)])
    : undefined;
  const stepIds = new Set<string>();
  cp.steps.forEach((step, i) => {
    const at = (path: PathKey[], msg: string) =>
      out.push(
        src.problemAt(
          ["steps", i, ...path],
          `steps[${i}]${path.length ? `.${fieldName(path)}` : ""}: ${msg}`,
        ),
      );
    if (stepIds.has(step.id)) at(["id"], `step id "${step.id}" is used twice`);
    stepIds.add(step.id);
    const recipients = audiences[step.audience];
    if (audienceNames && !audienceNames.includes(step.audience))
      at(
        ["audience"],
        `unknown audience "${step.audience}" (defined: ${audienceNames.join(", ") || "none"})`,
      );
    checkKind(dir, step, kinds, at);
    checkTrigger(step, recipients, itemIds, at);
    checkWhen(step, recipients, at);
    if (step.missedWindow && (parseDuration(step.missedWindow)?.sign ?? 1) < 0)
      at(["missedWindow"], "must not be negative");
    // A warning, not an error: deleting a session that a step still lists is how an organizer
    // cancels it, and refusing the definition would keep its CANCEL from ever going out.
    step.items?.forEach((item, k) => {
      if (itemIds && !itemIds.has(item))
        out.push({
          ...src.problemAt(
            ["steps", i, "items", k],
            `steps[${i}].items[${k}]: no calendar item "${item}"; nothing is sent for it (anyone holding it gets a cancellation)`,
          ),
          severity: "warning",
        });
    });
    checkItemsAllowed(step, kinds, at);
    if (aboutIds && step.about && !aboutIds.has(step.about))
      at(["about"], `no related event or series "${step.about}"`);
    step.attachments?.forEach((a, k) => {
      const file = resolveAttachment(dir, a);
      if (!file.ok) at(["attachments", k], `attachment ${a} ${file.reason}`);
    });
    if (step.sendWindow && step.sendWindow.end <= step.sendWindow.start)
      at(["sendWindow", "end"], "must be after start");
  });
  return out;
}
