import type { Command } from "commander";
import { loadConfig } from "../config.js";
import type { KindRegistry } from "../kind.js";
import { loadEventOrThrow } from "../model/load.js";
import type { EventDefinition } from "../model/types.js";
import { type Stores, withStores } from "../store/index.js";
import { createQueue } from "../worker/queue.js";
import { wakeDueJobs } from "../worker/wake.js";
import { action, UsageError } from "./errors.js";

function checkStep(def: EventDefinition, step: string | undefined): void {
  if (step && !def.campaign.steps.some((s) => s.id === step))
    throw new UsageError(
      `no step "${step}" in ${def.files.campaign} (steps: ${def.campaign.steps.map((s) => s.id).join(", ")})`,
    );
}

function what(def: EventDefinition, step: string | undefined): string {
  return step ? `step ${step} of ${def.event.id}` : `all of ${def.event.id}`;
}

/** pause and cancel: set a control flag for an event or step, then say what was done. */
function controlCommand(
  program: Command,
  kinds: KindRegistry,
  c: {
    name: string;
    description: string;
    apply: (stores: Stores, event: string, step: string | undefined) => Promise<unknown>;
    done: (def: EventDefinition, path: string, step: string | undefined) => string;
  },
): void {
  program
    .command(c.name)
    .description(c.description)
    .argument("<event>", "an event directory or its event.yaml")
    .option("--step <id>", "only this step")
    .action(
      action(async (path: string, opts: { step?: string }) => {
        const def = loadEventOrThrow(path, kinds);
        checkStep(def, opts.step);
        await withStores(loadConfig(), (s) => c.apply(s, def.event.id, opts.step));
        process.stdout.write(`${c.done(def, path, opts.step)}\n`);
      }),
    );
}

/** `convene pause|resume|cancel <event> [--step <id>]`. */
export function registerControl(program: Command, kinds: KindRegistry): void {
  controlCommand(program, kinds, {
    name: "pause",
    description: "hold sends of an event (or one step) until resume; nothing is lost",
    apply: (stores, event, step) => stores.control.pause(event, step),
    done: (def, path, step) =>
      `Paused ${what(def, step)}. Resume with: convene resume ${path}${step ? ` --step ${step}` : ""}`,
  });

  program
    .command("resume")
    .description("continue a paused event or step; sends still inside their missed window go out")
    .argument("<event>", "an event directory or its event.yaml")
    .option("--step <id>", "only this step")
    .action(
      action(async (path: string, opts: { step?: string }) => {
        const def = loadEventOrThrow(path, kinds);
        checkStep(def, opts.step);
        const config = loadConfig();
        const r = await withStores(config, async (stores, redis) => {
          const ok = await stores.control.resume(def.event.id, opts.step);
          if (!ok) return undefined;
          const queue = createQueue(redis, stores.keys.bullPrefix());
          try {
            return await wakeDueJobs(queue, def.event.id, opts.step);
          } finally {
            await queue.close();
          }
        });
        if (r === undefined)
          throw new UsageError(
            `${what(def, opts.step)} is cancelled; a cancelled step does not resume`,
          );
        process.stdout.write(
          `Resumed ${what(def, opts.step)}${r ? ` (${r} waiting send${r === 1 ? "" : "s"} released)` : ""}.\n`,
        );
      }),
    );

  controlCommand(program, kinds, {
    name: "cancel",
    description:
      "stop an event (or one step) for good: its remaining sends are recorded as skipped",
    apply: (stores, event, step) => stores.control.cancel(event, step),
    done: (def, _path, step) => `Cancelled ${what(def, step)}. Sends not yet made will be skipped.`,
  });
}
