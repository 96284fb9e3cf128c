#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { KINDS } from "../jobs/index.js";
import { registerCalendar } from "./cli/calendar.js";
import { registerControl } from "./cli/control.js";
import { reportError } from "./cli/errors.js";
import { registerPlan } from "./cli/plan.js";
import { registerPreview } from "./cli/preview.js";
import { registerRegistrations } from "./cli/registrations.js";
import { registerRehearse } from "./cli/rehearse.js";
import { registerSendTest } from "./cli/send-test.js";
import { registerStatus } from "./cli/status.js";
import { registerSuppress } from "./cli/suppress.js";
import { registerValidate } from "./cli/validate.js";
import { registerWorker } from "./cli/worker.js";
import { packageRoot } from "./model/paths.js";
import { resolveRedisUrl } from "./store/redis.js";

// `convene plan … | head -1`: the reader left, which is the reader's choice, not a failure.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

/** Commands that never touch Redis, so they work (and start nothing) without one. */
const WITHOUT_REDIS = new Set(["validate", "plan", "preview", "calendar", "send-test"]);

function printVersion(): never {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as {
    version: string;
  };
  process.stdout.write(`${pkg.version}\n`);
  process.exit(0);
}

const program = new Command()
  .name("convene")
  .description("Email and calendar automation for invitation-driven events")
  .option("-V, --version", "print convene's version")
  .on("option:version", printVersion)
  .showHelpAfterError()
  // Usage mistakes throw instead of exiting, so they end with exit code 2 (see below).
  .exitOverride()
  .hook("preAction", async (_program, command) => {
    if (!WITHOUT_REDIS.has(command.name())) await resolveRedisUrl();
  });

// One register function per command module; each module owns its options and output. The
// kind registry (jobs/) is passed in from here, the only file in src/ that imports jobs/.
registerValidate(program, KINDS);
registerPlan(program, KINDS);
registerCalendar(program, KINDS);
registerWorker(program, KINDS);
registerRehearse(program, KINDS);
registerStatus(program, KINDS);
registerRegistrations(program, KINDS);
registerSuppress(program);
registerControl(program, KINDS);
registerPreview(program, KINDS);
registerSendTest(program, KINDS);

// Every command's failure ends here: located problems or one line, never a stack trace.
// Exit codes: 0 done, 1 problems found or a runtime failure, 2 the command was called wrongly.
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
  else if ((e as NodeJS.ErrnoException).code === "EPIPE") process.exitCode = 0;
  else process.exitCode = reportError(e);
}
