import { join } from "node:path";
import { loadConfig } from "../config.js";
import type { KindRegistry } from "../kind.js";
import { loadEventOrThrow } from "../model/load.js";
import { createLogger } from "../worker/logger.js";
import { rehearse } from "../worker/rehearsal.js";
import { loadWorkerSettings } from "../worker/settings.js";
import { parseInstantOption } from "./plan.js";
import { progressView } from "./rehearse-progress.js";
import { statusText, tableWidth } from "./status.js";

interface RehearseOpts {
  until?: string;
  verbose?: boolean;
  wide?: boolean;
}

/** `convene rehearse <event>` (declared in commands.ts). */
export async function rehearseCommand(
  kinds: KindRegistry,
  path: string,
  opts: RehearseOpts,
): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ level: opts.verbose ? "info" : "warn" });
  const first = loadEventOrThrow(path, kinds);
  const zone = first.event.timezone;
  const until = parseInstantOption(opts.until, zone, "--until");
  // A redrawn progress block and log lines would garble each other; --verbose gets the logs.
  const view = opts.verbose ? undefined : progressView(zone);
  let r: Awaited<ReturnType<typeof rehearse>>;
  try {
    r = await rehearse({
      path,
      kinds,
      config,
      settings: loadWorkerSettings(process.env, 0),
      log,
      ...(until ? { until } : {}),
      ...(view ? { onProgress: (p) => view.update(p) } : {}),
    });
  } finally {
    view?.stop();
  }
  const sent = r.status.steps.reduce((n, s) => n + s.states.sent, 0);
  process.stdout.write(
    `Rehearsed ${r.def.event.id} in ${r.ticks} simulated moment${r.ticks === 1 ? "" : "s"} (Redis prefix ${r.prefix}).\n\n`,
  );
  // The result of a first run is read in a terminal or a CI log: 80 columns unless told.
  process.stdout.write(statusText(r.status, zone, tableWidth(opts.wide, 80)));
  process.stdout.write(
    `\n${sent} messages are in ${r.outboxDir}/: open ${join(r.outboxDir, "index.html")} to read them, with every send that was not made and why.\n`,
  );
}
