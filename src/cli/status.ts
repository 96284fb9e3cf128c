import { DateTime } from "luxon";
import { loadConfig } from "../config.js";
import type { KindRegistry } from "../kind.js";
import { loadEventOrThrow } from "../model/load.js";
import type { EventDefinition } from "../model/types.js";
import { plan } from "../planner/plan.js";
import { type Stores, withStores } from "../store/index.js";
import { STATES } from "../store/ledger.js";
import { mergeRegistrations, rsvpsFor } from "../worker/replan.js";
import { computeRsvp, rsvpText } from "../worker/rsvp-status.js";
import { computeStatus, type EventStatus, type FailureRow } from "../worker/status.js";
import { UsageError } from "./errors.js";
import { textTable } from "./text-table.js";

interface StatusOpts {
  step?: string;
  json?: boolean;
  failures?: boolean;
  wide?: boolean;
  rsvp?: boolean;
}

/**
 * The room for a table on stdout: a terminal's width; piped output is read by scripts, so there
 * the full table, as before.
 */
export function tableWidth(wide: boolean | undefined, piped = Number.POSITIVE_INFINITY): number {
  if (wide) return Number.POSITIVE_INFINITY;
  return process.stdout.isTTY ? process.stdout.columns || 80 : piped;
}

function table(rows: string[][]): string {
  return textTable(rows).join("\n");
}

function nextDueText(iso: string | null, zone: string): string {
  return iso ? DateTime.fromISO(iso).setZone(zone).toFormat("yyyy-MM-dd HH:mm ZZZZ") : "-";
}

/** Every state in its own column: what scripts and wide terminals read. */
function wideText(s: EventStatus, zone: string): string {
  const head = ["STEP", "KIND", "PLANNED", ...STATES.map((x) => x.toUpperCase()), "NEXT DUE"];
  const rows = s.steps.map((st) => [
    st.step,
    st.kind,
    String(st.planned),
    ...STATES.map((x) => String(st.states[x])),
    nextDueText(st.nextDue, zone),
  ]);
  return `${table([head, ...rows])}\n`;
}

/** "11 skipped", "3 missed": the states other than sent that a step has, in ledger order. */
function otherStates(st: EventStatus["steps"][number]): string[] {
  return STATES.filter((x) => x !== "sent" && st.states[x] > 0).map((x) => `${st.states[x]} ${x}`);
}

/** Greedy wrap of comma-joined parts into lines of at most `width`. */
function wrapParts(parts: string[], width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const p of parts) {
    const next = line ? `${line}, ${p}` : p;
    if (line && next.length > width) {
      lines.push(`${line},`);
      line = p;
    } else line = next;
  }
  return line ? [...lines, line] : ["-"];
}

function clipped(v: string, width: number): string {
  return v.length <= width ? v : `${v.slice(0, width - 1)}…`;
}

/**
 * The same counts in at most `width` columns: sent in a column of its own, the other states a
 * step has listed by name (wrapped onto more lines when they do not fit).
 */
function narrowText(s: EventStatus, zone: string, width: number): string {
  const withNext = s.steps.some((st) => st.nextDue);
  const stepW = Math.min(24, Math.max(4, ...s.steps.map((st) => st.step.length)));
  const nextW = withNext ? 20 : 0;
  const fixed = stepW + 2 + 7 + 2 + 5 + 2 + (withNext ? 2 + nextW : 0);
  const otherW = Math.max(12, width - fixed);
  const rows = [["STEP", "PLANNED", "SENT", "OTHER STATES", "NEXT DUE"]];
  for (const st of s.steps) {
    const [first = "-", ...more] = wrapParts(otherStates(st), otherW);
    rows.push([
      clipped(st.step, stepW),
      String(st.planned),
      String(st.states.sent),
      first,
      nextDueText(st.nextDue, zone),
    ]);
    for (const m of more) rows.push(["", "", "", m, ""]);
  }
  // Fixed widths, not the cells': the layout is planned to fit `width` before any row is seen.
  const lines = textTable(withNext ? rows : rows.map((r) => r.slice(0, 4)), [
    { width: stepW },
    { width: 7, align: "right" },
    { width: 5, align: "right" },
    { width: otherW },
  ]);
  return `${lines.join("\n")}\n`;
}

/**
 * The status table. `width` is the room there is (a terminal's columns); the full table when it
 * fits, else a narrower layout with the same counts. Without a width, always the full table.
 */
export function statusText(s: EventStatus, zone: string, width = Number.POSITIVE_INFINITY): string {
  const wide = wideText(s, zone);
  const widest = Math.max(...wide.split("\n").map((l) => l.length));
  return widest <= width ? wide : narrowText(s, zone, width);
}

function failuresText(fs: FailureRow[]): string {
  if (!fs.length) return "No failed, missed or unconfirmed sends.\n";
  const rows = fs.map((f) => [
    f.state,
    f.step,
    f.recipient,
    f.reason + (f.response && !f.reason.includes(f.response) ? ` — ${f.response}` : ""),
  ]);
  return `${table([["STATE", "STEP", "RECIPIENT", "REASON"], ...rows])}\n${fs.length} send${fs.length === 1 ? "" : "s"} need attention.\n`;
}

/** Who holds each calendar item: the recipients whose invite SMTP accepted (and not cancelled). */
async function holdersOf(stores: Stores, ev: string): Promise<Map<string, string[]>> {
  const state = await stores.calendar.load(ev);
  const out = new Map<string, string[]>();
  for (const [item, st] of Object.entries(state.items)) {
    const held = Object.entries(st.recipients)
      .filter(([, r]) => r.delivered && r.delivered.method !== "CANCEL")
      .map(([email]) => email);
    if (held.length) out.set(item, held);
  }
  return out;
}

/** `convene status <event> --rsvp`: the calendar answers per item and team. */
async function rsvpStatus(def: EventDefinition, opts: StatusOpts): Promise<void> {
  const ev = def.event.id;
  const items = await withStores(loadConfig(), async (stores) =>
    computeRsvp(
      def,
      await holdersOf(stores, ev),
      await stores.rsvp.all(ev),
      await stores.rsvp.others(ev),
    ),
  );
  if (opts.json) process.stdout.write(`${JSON.stringify({ event: ev, rsvp: items }, null, 2)}\n`);
  else process.stdout.write(rsvpText(items));
}

/** `convene status <event>` (declared in commands.ts). */
export async function statusCommand(
  kinds: KindRegistry,
  path: string,
  opts: StatusOpts,
): Promise<void> {
  const def = loadEventOrThrow(path, kinds);
  const ev = def.event.id;
  if (opts.step && !def.campaign.steps.some((s) => s.id === opts.step))
    throw new UsageError(
      `no step "${opts.step}" in ${def.files.campaign} (steps: ${def.campaign.steps.map((s) => s.id).join(", ")})`,
    );
  if (opts.rsvp) return rsvpStatus(def, opts);
  const config = loadConfig();
  const now = DateTime.utc();
  const { status, failures } = await withStores(config, async (stores) => {
    const regs = mergeRegistrations(def.registrations, await stores.registrations.list(ev));
    const sends = plan(def, regs, now, await rsvpsFor(stores, def));
    return computeStatus(
      def,
      sends,
      await stores.ledger.all(ev),
      await stores.control.get(ev),
      now,
    );
  });
  const steps = opts.step ? status.steps.filter((s) => s.step === opts.step) : status.steps;
  const fails = opts.step ? failures.filter((f) => f.step === opts.step) : failures;
  if (opts.json) {
    const out = { event: ev, steps, ...(opts.failures ? { failures: fails } : {}) };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  process.stdout.write(statusText({ event: ev, steps }, def.event.timezone, tableWidth(opts.wide)));
  if (opts.failures) process.stdout.write(`\n${failuresText(fails)}`);
}
