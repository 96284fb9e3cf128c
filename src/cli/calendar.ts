import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DateTime } from "luxon";
import { publishFiles } from "../calendar/publish.js";
import type { KindRegistry } from "../kind.js";
import { loadEventOrThrow } from "../model/load.js";
import { UsageError } from "./errors.js";
import { parseInstantOption } from "./plan.js";

/** `convene calendar <event> --out <dir>` (declared in commands.ts). */
export async function calendarCommand(
  kinds: KindRegistry,
  path: string,
  opts: { out: string; stamp?: string },
): Promise<void> {
  const def = loadEventOrThrow(path, kinds);
  const stamp = parseInstantOption(opts.stamp, def.event.timezone, "--stamp") ?? DateTime.utc();
  const files = publishFiles(def, { stamp });
  try {
    mkdirSync(opts.out, { recursive: true });
  } catch (e) {
    throw new UsageError(`--out ${opts.out}: cannot create it (${(e as Error).message})`);
  }
  const shown = opts.out.replace(/\/+$/, "") || ".";
  for (const f of files) {
    writeFileSync(join(opts.out, f.filename), f.ics);
    const n = `${f.events} event${f.events === 1 ? "" : "s"}`;
    process.stdout.write(`${join(shown, f.filename).padEnd(48)} ${n.padEnd(10)} ${f.title}\n`);
  }
  process.stdout.write(`${files.length} calendar files written to ${shown}/\n`);
}
