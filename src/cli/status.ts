import type { Command } from "commander";
import { DateTime } from "luxon";
import { loadConfig } from "../config.js";
import { loadEventOrThrow } from "../model/load.js";
import { plan } from "../planner/plan.js";
import { withStores } from "../store/index.js";
import { STATES } from "../store/ledger.js";
import { mergeRegistrations } from "../worker/replan.js";
import { computeStatus, type EventStatus, type Failure } from "../worker/status.js";
import { action, UsageError } from "./errors.js";

interface StatusOpts {
  step?: string;
  json?: boolean;
  failures?: boolean;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((v, c) => v.padEnd(widths[c] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function statusText(s: EventStatus, zone: string): string {
  const head = ["STEP", "KIND", "PLANNED", ...STATES.map((x) => x.toUpperCase()), "NEXT DUE"];
  const rows = s.steps.map((st) => [
    st.step,
    st.kind,
    String(st.planned),
    ...STATES.map((x) => String(st.states[x])),
    st.nextDue ? DateTime.fromISO(st.nextDue).setZone(zone).toFormat("yyyy-MM-dd HH:mm ZZZZ") : "-",
  ]);
  return `${table([head, ...rows])}\n`;
}

function failuresText(fs: Failure[]): string {
  if (!fs.length) return "No failed, missed or unconfirmed sends.\n";
  const rows = fs.map((f) => [
    f.state,
    f.step,
    f.recipient,
    f.reason + (f.response && !f.reason.includes(f.response) ? ` — ${f.response}` : ""),
  ]);
  return `${table([["STATE", "STEP", "RECIPIENT", "REASON"], ...rows])}\n${fs.length} send${fs.length === 1 ? "" : "s"} need attention.\n`;
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("delivery status per step: how many sends are in each state, and what is next")
    .argument("<event>", "an event directory or its event.yaml")
    .option("--step <id>", "only this step")
    .option("--json", "machine-readable output (stable shape)")
    .option(
      "--failures",
      "list every failed, missed and unconfirmed send (and sends possibly delivered twice) with its reason",
    )
    .action(
      action(async (path: string, opts: StatusOpts) => {
        const def = loadEventOrThrow(path);
        const ev = def.event.id;
        if (opts.step && !def.campaign.steps.some((s) => s.id === opts.step))
          throw new UsageError(
            `no step "${opts.step}" in ${def.files.campaign} (steps: ${def.campaign.steps.map((s) => s.id).join(", ")})`,
          );
        const config = loadConfig();
        const now = DateTime.utc();
        const { status, failures } = await withStores(config, async (stores) => {
          const regs = mergeRegistrations(def.registrations, await stores.registrations.list(ev));
          const sends = plan(def, regs, now);
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
        process.stdout.write(statusText({ event: ev, steps }, def.event.timezone));
        if (opts.failures) process.stdout.write(`\n${failuresText(fails)}`);
      }),
    );
}
