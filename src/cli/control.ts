import { loadConfig } from "../config.js";
import type { KindRegistry } from "../kind.js";
import { loadEventOrThrow } from "../model/load.js";
import type { EventDefinition } from "../model/types.js";
import { type Stores, withStores } from "../store/index.js";
import { createQueue } from "../worker/queue.js";
import { wakeDueJobs } from "../worker/wake.js";
import { UsageError } from "./errors.js";

function checkStep(def: EventDefinition, step: string | undefined): void {
  if (step && !def.campaign.steps.some((s) => s.id === step))
    throw new UsageError(
      `no step "${step}" in ${def.files.campaign} (steps: ${def.campaign.steps.map((s) => s.id).join(", ")})`,
    );
}

function what(def: EventDefinition, step: string | undefined): string {
  return step ? `step ${step} of ${def.event.id}` : `all of ${def.event.id}`;
}

interface ControlOpts {
  step?: string;
}

/** pause and cancel: set a control flag for an event or step, then say what was done. */
async function setControl(
  kinds: KindRegistry,
  path: string,
  opts: ControlOpts,
  c: {
    apply: (stores: Stores, event: string, step: string | undefined) => Promise<unknown>;
    done: (def: EventDefinition, path: string, step: string | undefined) => string;
  },
): Promise<void> {
  const def = loadEventOrThrow(path, kinds);
  checkStep(def, opts.step);
  await withStores(loadConfig(), (s) => c.apply(s, def.event.id, opts.step));
  process.stdout.write(`${c.done(def, path, opts.step)}\n`);
}

/** `convene pause <event> [--step <id>]` (declared in commands.ts). */
export function pauseCommand(kinds: KindRegistry, path: string, opts: ControlOpts): Promise<void> {
  return setControl(kinds, path, opts, {
    apply: (stores, event, step) => stores.control.pause(event, step),
    done: (def, path, step) =>
      `Paused ${what(def, step)}. Resume with: convene resume ${path}${step ? ` --step ${step}` : ""}`,
  });
}

/** `convene resume <event> [--step <id>]` (declared in commands.ts). */
export async function resumeCommand(
  kinds: KindRegistry,
  path: string,
  opts: ControlOpts,
): Promise<void> {
  const def = loadEventOrThrow(path, kinds);
  checkStep(def, opts.step);
  const config = loadConfig();
  const r = await withStores(config, async (stores, redis) => {
    const ok = await stores.control.resume(def.event.id, opts.step);
    if (!ok) return undefined;
    const queue = createQueue(redis, stores.keys.bullPrefix(def.event.id));
    try {
      return await wakeDueJobs(queue, def.event.id, opts.step);
    } finally {
      await queue.close();
    }
  });
  if (r === undefined)
    throw new UsageError(`${what(def, opts.step)} is cancelled; a cancelled step does not resume`);
  process.stdout.write(
    `Resumed ${what(def, opts.step)}${r ? ` (${r} waiting send${r === 1 ? "" : "s"} released)` : ""}.\n`,
  );
}

/** `convene cancel <event> [--step <id>]` (declared in commands.ts). */
export function cancelCommand(kinds: KindRegistry, path: string, opts: ControlOpts): Promise<void> {
  return setControl(kinds, path, opts, {
    apply: (stores, event, step) => stores.control.cancel(event, step),
    done: (def, _path, step) => `Cancelled ${what(def, step)}. Sends not yet made will be skipped.`,
  });
}
