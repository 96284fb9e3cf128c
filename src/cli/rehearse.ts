import { join } from "node:path";
import type { Command } from "commander";
import { loadConfig } from "../config.js";
import { createLogger } from "../worker/logger.js";
import { rehearse } from "../worker/rehearsal.js";
import { loadWorkerSettings } from "../worker/settings.js";
import { parseInstantOption } from "./plan.js";
import { statusText } from "./status.js";

export function registerRehearse(program: Command): void {
  program
    .command("rehearse")
    .description(
      "run the whole campaign in simulated time through the real worker, into the outbox (never SMTP)",
    )
    .argument("<event>", "an event directory or its event.yaml")
    .option("--until <iso>", "stop the simulated clock here (event-local unless it has an offset)")
    .option("--verbose", "log every send outcome")
    .action(async (path: string, opts: { until?: string; verbose?: boolean }) => {
      const config = loadConfig();
      const log = createLogger({ level: opts.verbose ? "info" : "warn" });
      const first = await import("../model/load.js").then((m) => m.loadEventOrThrow(path));
      const until = parseInstantOption(opts.until, first.event.timezone, "--until");
      const r = await rehearse({
        path,
        config,
        settings: loadWorkerSettings(process.env, 0),
        log,
        ...(until ? { until } : {}),
      });
      const sent = r.status.steps.reduce((n, s) => n + s.states.sent, 0);
      process.stdout.write(
        `Rehearsed ${r.def.event.id} in ${r.ticks} simulated moments (Redis prefix ${r.prefix}).\n\n`,
      );
      process.stdout.write(statusText(r.status, r.def.event.timezone));
      process.stdout.write(
        `\n${sent} messages are in ${r.outboxDir}/: open ${join(r.outboxDir, "index.html")} to read them.\n`,
      );
    });
}
