/**
 * Template validation for `convene validate`: every step's template is compiled and filled for
 * a sample recipient of its audience, and the whole message composed, so a broken template is
 * reported with its file and line before the campaign runs, not when the first send fails.
 */
import { DateTime } from "luxon";
import type { Config } from "../config.js";
import { loadConfig } from "../config.js";
import { kindOf } from "../kind.js";
import type { CalendarItem } from "../model/items.js";
import { itemsOf } from "../model/items.js";
import type { Problem } from "../model/problems.js";
import type { StepSpec } from "../model/schema.js";
import type { EventDefinition, Recipient } from "../model/types.js";
import { type Send, sendId } from "../planner/send.js";
import { TemplateError } from "../render/mjml.js";
import { templateName } from "../render/render.js";
import { composeWith } from "./compose.js";

/** A stand-in when an audience is empty, so its template is still checked. */
const SAMPLE: Recipient = {
  email: "sample.recipient@example.org",
  name: "Sample Recipient",
  salutation: "Dr. Sample",
  organization: "Sample Unified School District",
  team: "sample-usd",
  role: "Superintendent",
  fields: { district: "Sample Unified School District" },
  source: { file: "(sample)", line: 1 },
};

export function sampleSend(
  def: EventDefinition,
  step: StepSpec,
  r: Recipient,
  due: DateTime,
  item?: string,
): Send {
  return {
    id: sendId({ event: def.event.id, step: step.id, recipient: r.email, item, version: 0 }),
    event: def.event.id,
    step: step.id,
    kind: step.kind,
    recipient: r.email,
    name: r.name,
    ...(r.team ? { team: r.team } : {}),
    ...(item ? { item } : {}),
    version: 0,
    due: due.toUTC().toISO() as string,
    dueLocal: due.setZone(def.event.timezone).toISO() as string,
    zone: def.event.timezone,
    expires: due.toUTC().toISO() as string,
  };
}

/** An item that can be invited to now: defined, dated and not cancelled. */
function invitable(item: CalendarItem | undefined): item is CalendarItem {
  return !!item && item.when.type !== "tbd" && item.status !== "cancelled";
}

/**
 * The item a step's sample invite is rendered with: the first of its items the worker would
 * send, as a TBD or cancelled item sends nothing (and a deleted one only cancellations). When
 * none can be sent yet, any invitable item of the event stands in, so the template is still
 * checked; `waiting` then names the step's items for the warning.
 */
function stepItem(
  def: EventDefinition,
  step: StepSpec,
): { item?: string; waiting?: readonly string[] } {
  if (!kindOf(def, step.kind).invites) return {};
  const all = itemsOf(def.event);
  const byId = new Map(all.map((i) => [i.id, i]));
  const ids = step.items ?? def.event.days.map((d) => d.id ?? `day-${d.date}`);
  const own = ids.map((id) => byId.get(id)).find(invitable);
  if (own) return { item: own.id };
  const stand = all.find(invitable);
  return { ...(stand ? { item: stand.id } : {}), waiting: ids };
}

function waitingProblem(def: EventDefinition, step: StepSpec, ids: readonly string[]): Problem {
  return {
    file: def.files.campaign,
    line: 1,
    col: 1,
    severity: "warning",
    message: `step ${step.id}: every item is TBD (${ids.join(", ")}); nothing is sent until one has a date`,
  };
}

function campaignProblem(def: EventDefinition, message: string): Problem {
  return { file: def.files.campaign, line: 1, col: 1, message };
}

/** Renders and composes the step's message for a sample recipient; a failure is its problem. */
async function renderProblem(
  def: EventDefinition,
  step: StepSpec,
  due: DateTime,
  config: Config,
  item: string | undefined,
): Promise<Problem | undefined> {
  const name = templateName(step);
  const r = def.audiences[step.audience]?.[0] ?? SAMPLE;
  try {
    await composeWith(def, sampleSend(def, step, r, due, item), { config }, r);
    return undefined;
  } catch (e) {
    if (e instanceof TemplateError)
      return {
        file: e.file,
        line: e.line,
        col: 1,
        message: `template "${name}" (step ${step.id}): ${e.detail}`,
      };
    return campaignProblem(
      def,
      `step ${step.id}: cannot render template "${name}": ${(e as Error).message}`,
    );
  }
}

export async function checkTemplates(
  def: EventDefinition,
  config: Config = loadConfig(),
): Promise<Problem[]> {
  const problems: Problem[] = [];
  const due = DateTime.fromISO(`${def.event.registration.deadline}T09:00`, {
    zone: def.event.timezone,
  });
  for (const step of def.campaign.steps) {
    const { item, waiting } = stepItem(def, step);
    if (waiting) problems.push(waitingProblem(def, step, waiting));
    const rendered = await renderProblem(def, step, due, config, item);
    if (rendered) problems.push(rendered);
    for (const p of kindOf(def, step.kind).stepProblems?.(step, def) ?? [])
      problems.push(
        typeof p === "string"
          ? campaignProblem(def, `step ${step.id}: ${p}`)
          : { ...campaignProblem(def, `step ${step.id}: ${p.warning}`), severity: "warning" },
      );
  }
  return problems;
}
