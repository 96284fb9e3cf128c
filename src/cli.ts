#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { declareCommands } from "./cli/commands.js";
import { reportError } from "./cli/errors.js";
import { packageRoot } from "./model/paths.js";

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

/**
 * The kind registry (jobs/), imported when a command first needs it rather than at start-up:
 * `--help`, `--version` and `suppress` never do. This is the only file in src/ that imports jobs/.
 */
const loadKinds = async () => (await import("../jobs/index.js")).KINDS;

const program = new Command()
  .name("convene")
  .description("Email and calendar automation for invitation-driven events")
  .option("-V, --version", "print convene's version")
  .on("option:version", printVersion)
  .showHelpAfterError()
  // Usage mistakes throw instead of exiting, so they end with exit code 2 (see below).
  .exitOverride()
  .hook("preAction", async (_program, command) => {
    // Imported here: ioredis is for the commands that use Redis, not for the others' start-up.
    if (!WITHOUT_REDIS.has(command.name()))
      await (await import("./store/redis.js")).resolveRedisUrl();
  });

// Each command's implementation (src/cli/<command>.ts) is imported when that command runs.
declareCommands(program, loadKinds);

// Every command's failure ends here: located problems or one line, never a stack trace.
// Exit codes: 0 done, 1 problems found or a runtime failure, 2 the command was called wrongly.
try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
  else if ((e as NodeJS.ErrnoException).code === "EPIPE") process.exitCode = 0;
  else process.exitCode = reportError(e);
}
