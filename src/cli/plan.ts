import { DateTime } from "luxon";
import type { KindRegistry } from "../kind.js";
import { loadEventOrThrow } from "../model/load.js";
import type { EventDefinition } from "../model/types.js";
import { plan } from "../planner/plan.js";
import type { Send } from "../planner/send.js";
import { UsageError } from "./errors.js";
import { textTable } from "./text-table.js";

/**
 * ISO instants from the command line; without an offset they are read in the event's zone.
 * That zone is known only after the event has loaded, so this runs in the action rather than as
 * a commander argParser (see options.ts); a bad value is still a usage error (exit 2).
 */
export function parseInstantOption(
  value: string | undefined,
  zone: string,
  flag: string,
): DateTime | undefined {
  if (value === undefined) return undefined;
  const dt = DateTime.fromISO(value.replace(" ", "T"), { zone, setZone: true });
  if (!dt.isValid)
    throw new UsageError(
      `${flag} "${value}" is not an ISO date or time (like 2017-05-15 or 2017-05-15T09:00)`,
    );
  return dt;
}

export function sendJson(s: Send) {
  return {
    id: s.id,
    event: s.event,
    step: s.step,
    kind: s.kind,
    recipient: s.recipient,
    name: s.name,
    ...(s.team ? { team: s.team } : {}),
    ...(s.item ? { item: s.item } : {}),
    version: s.version,
    due: s.due,
    dueLocal: s.dueLocal,
    zone: s.zone,
    expires: s.expires,
  };
}

interface Row {
  local: string;
  zone: string;
  utc: string;
  step: string;
  kind: string;
  audience: string;
  recipients: number;
}

/**
 * One row per step occurrence: all sends of a step due at the same instant in the same zone.
 * A `zone: recipient` step fires at 09:00 in Tokyo and at 09:00 in New York; each row shows its
 * local time in its own zone, and the zone column appears as soon as the plan mixes zones, so
 * no row reads as if it were the event's time.
 */
export function planTable(def: EventDefinition, sends: Send[]): string {
  const audienceOf = new Map(def.campaign.steps.map((s) => [s.id, s.audience]));
  const rows = new Map<string, Row>();
  for (const s of sends) {
    const key = `${s.step}|${s.due}|${s.zone}`;
    const row = rows.get(key);
    if (row) row.recipients++;
    else
      rows.set(key, {
        local: DateTime.fromISO(s.due, { zone: s.zone })
          // A fixed locale, so the zone abbreviation (PDT) does not depend on the machine.
          .setLocale("en-US")
          .toFormat("yyyy-MM-dd HH:mm ZZZZ"),
        zone: s.zone,
        utc: DateTime.fromISO(s.due, { zone: "UTC" }).toFormat("yyyy-MM-dd HH:mm'Z'"),
        step: s.step,
        kind: s.kind,
        audience: audienceOf.get(s.step) ?? "",
        recipients: 1,
      });
  }
  const header: Row = {
    local: "LOCAL TIME",
    zone: "ZONE",
    utc: "UTC",
    step: "STEP",
    kind: "KIND",
    audience: "AUDIENCE",
    recipients: 0,
  };
  const all = [header, ...rows.values()];
  const zones = new Set([...rows.values()].map((r) => r.zone));
  const mixed = [...zones].some((z) => z !== def.event.timezone);
  const cols = mixed
    ? (["local", "zone", "utc", "step", "kind", "audience"] as const)
    : (["local", "utc", "step", "kind", "audience"] as const);
  const lines = textTable(
    all.map((r, i) => [...cols.map((c) => r[c]), i === 0 ? "RECIPIENTS" : String(r.recipients)]),
  );
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  const times = mixed ? "local times in each row's zone" : `times in ${def.event.timezone}`;
  return `${lines.join("\n")}\n\n${plural(sends.length, "send")} in ${plural(rows.size, "step occurrence")} (${times}).\n`;
}

/** `convene plan <event>` (declared in commands.ts). */
export async function planCommand(
  kinds: KindRegistry,
  path: string,
  opts: { from?: string; to?: string; now?: string; json?: boolean },
): Promise<void> {
  const def = loadEventOrThrow(path, kinds);
  const zone = def.event.timezone;
  const from = parseInstantOption(opts.from, zone, "--from");
  const to = parseInstantOption(opts.to, zone, "--to");
  const now = parseInstantOption(opts.now, zone, "--now") ?? DateTime.utc();
  const sends = plan(def, def.registrations, now).filter((s) => {
    const due = DateTime.fromISO(s.due);
    return (!from || due >= from) && (!to || due < to);
  });
  if (opts.json) process.stdout.write(`${JSON.stringify(sends.map(sendJson), null, 2)}\n`);
  else process.stdout.write(planTable(def, sends));
}
