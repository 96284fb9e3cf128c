#!/usr/bin/env node
import { Command } from "commander";
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
import "./mail/validate-hook.js";

const program = new Command()
  .name("convene")
  .description("Email and calendar automation for invitation-driven events")
  .showHelpAfterError();

// One register function per command module; each module owns its options and output.
registerValidate(program);
registerPlan(program);
registerCalendar(program);
registerWorker(program);
registerRehearse(program);
registerStatus(program);
registerRegistrations(program);
registerSuppress(program);
registerControl(program);
registerPreview(program);
registerSendTest(program);

// Every command's failure ends here: located problems or one line, never a stack trace.
try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.exitCode = reportError(e);
}
