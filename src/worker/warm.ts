/**
 * Compiles the templates of steps about to fall due, at the tick before, so the first message of
 * a step is not held up by it (issue 12: compiling the letter's MJML took over a second, all of
 * it between the due time and the first message). The compile blocks the event loop either way;
 * this only moves it ahead of the due time, and only for steps due soon, so an edit to a
 * campaign does not recompile every step while others are being sent.
 */
import { isoMillis } from "../model/time.js";
import type { EventDefinition } from "../model/types.js";
import { prepareTemplate } from "../render/render.js";

/** Ticks run every minute: three minutes ahead covers the next tick even when one is late. */
export const WARM_AHEAD_MS = 3 * 60_000;

export function stepsDueSoon(
  sends: readonly { step: string; due: string; expires: string }[],
  nowMs: number,
  aheadMs = WARM_AHEAD_MS,
): Set<string> {
  const steps = new Set<string>();
  for (const s of sends) {
    if (steps.has(s.step)) continue;
    if (isoMillis(s.due) > nowMs + aheadMs) continue;
    if (isoMillis(s.expires) > nowMs) steps.add(s.step);
  }
  return steps;
}

/** Starts compiling; a template that fails is reported by the send that needs it. */
export function warmTemplates(def: EventDefinition, steps: ReadonlySet<string>): void {
  for (const step of def.campaign.steps)
    if (steps.has(step.id)) prepareTemplate(def, step).catch(() => undefined);
}
