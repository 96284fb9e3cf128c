/**
 * Renders one message body for one recipient: the step's template filled with the view.
 * Compiling is cached per template content (src/render/template.ts); this is the per-recipient
 * part, and it is deterministic: the same inputs give byte-identical HTML and text.
 */

import { audienceIndex } from "../model/audience.js";
import type { StepSpec } from "../model/schema.js";
import type { EventDefinition, Recipient } from "../model/types.js";
import { type CompiledTemplate, loadTemplate } from "./template.js";
import { buildView, type View, type ViewInput } from "./view.js";

export interface RenderInput extends Omit<ViewInput, "subject"> {
  /**
   * Computes the subject from the view: the step's own subject, else a default, and for
   * calendar updates and cancellations what they are (the caller decides; see mail/compose.ts).
   */
  subject: (v: Omit<View, "subject">) => string;
}

export interface Rendered {
  subject: string;
  html: string;
  text: string;
  template: string;
  view: View;
}

export function templateName(step: StepSpec): string {
  return step.template ?? step.kind;
}

export async function renderMessage(i: RenderInput): Promise<Rendered> {
  const base = buildView({ ...i, subject: "" });
  const subject = i.subject(base);
  const view = { ...base, subject };
  const t = await templateOf(i.def, templateName(i.step));
  const { html, text } = t.fill(view);
  return { subject, html, text, template: t.file, view };
}

/** Compiles a step's template ahead of its first message (worker/warm.ts). */
export function prepareTemplate(def: EventDefinition, step: StepSpec): Promise<CompiledTemplate> {
  return templateOf(def, templateName(step));
}

const templatesOf = new WeakMap<EventDefinition, Map<string, Promise<CompiledTemplate>>>();

/**
 * The compiled template, once per loaded definition: loadTemplate looks the file up and stats it
 * and its includes on every call, for each of a step's thousand messages (issue 12). A worker's
 * definition is reloaded whenever a file of the folder changes (worker/definitions.ts), templates
 * included, so an edit still reaches the next message through the new definition object.
 */
function templateOf(def: EventDefinition, name: string): Promise<CompiledTemplate> {
  let byName = templatesOf.get(def);
  if (!byName) {
    byName = new Map();
    templatesOf.set(def, byName);
  }
  let t = byName.get(name);
  if (!t) {
    t = loadTemplate(def.dir, name);
    byName.set(name, t);
    // A template that failed (a syntax error being fixed) is looked up again next time.
    t.catch(() => byName.delete(name));
  }
  return t;
}

/** The recipient of a step's audience with this address (case-insensitive), if any. */
export function findRecipient(
  def: EventDefinition,
  step: StepSpec,
  address: string,
): Recipient | undefined {
  const audience = def.audiences[step.audience];
  if (!audience) return undefined;
  const index = audienceIndex(audience);
  return index.get(address.toLowerCase());
}
