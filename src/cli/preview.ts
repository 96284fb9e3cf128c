import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { DateTime } from "luxon";
import { loadConfig } from "../config.js";
import { type KindRegistry, kindOf } from "../kind.js";
import { sampleSend } from "../mail/check.js";
import { composeWith, recipientOf } from "../mail/compose.js";
import { toEml } from "../mail/eml.js";
import { icsOf, outboxName } from "../mail/outbox.js";
import { loadEventOrThrow } from "../model/load.js";
import type { StepSpec } from "../model/schema.js";
import type { EventDefinition } from "../model/types.js";
import { plan } from "../planner/plan.js";
import type { Send } from "../planner/send.js";
import { findRecipient } from "../render/render.js";
import { UsageError } from "./errors.js";
import { parseInstantOption } from "./plan.js";

export function findStep(def: EventDefinition, id: string): StepSpec {
  const step = def.campaign.steps.find((s) => s.id === id);
  if (!step)
    throw new UsageError(
      `no step "${id}" in ${def.files.campaign} (steps: ${def.campaign.steps.map((s) => s.id).join(", ")})`,
    );
  return step;
}

/**
 * The send to preview: the planner's own send for that step and recipient, so ids and Message-IDs
 * match what the worker will send; when the plan has none (the recipient is filtered out by the
 * step's conditions, or not planned yet), a stand-in send for the same step and recipient.
 */
export function previewSend(
  def: EventDefinition,
  step: StepSpec,
  o: { recipient?: string; item?: string; now: DateTime },
): Send {
  const sends = plan(def, def.registrations, o.now).filter(
    (s) =>
      s.step === step.id &&
      (!o.recipient || s.recipient.toLowerCase() === o.recipient.toLowerCase()) &&
      (!o.item || s.item === o.item),
  );
  // "The first recipient" is the first in the audience's CSV, as the organizer sees the file.
  const order = new Map(
    (def.audiences[step.audience] ?? []).map((r, i) => [r.email.toLowerCase(), i]),
  );
  const rank = (s: Send) => order.get(s.recipient.toLowerCase()) ?? Number.MAX_SAFE_INTEGER;
  const first = [...sends].sort((a, b) => rank(a) - rank(b))[0];
  if (first) return first;
  const audience = def.audiences[step.audience] ?? [];
  const r = o.recipient ? findRecipient(def, step, o.recipient) : audience[0];
  if (!r)
    throw new UsageError(
      o.recipient
        ? `${o.recipient} is not in audience "${step.audience}" of step ${step.id}`
        : `audience "${step.audience}" of step ${step.id} has no recipients`,
    );
  const item = kindOf(def, step.kind).invites
    ? (o.item ?? step.items?.[0] ?? def.event.days[0]?.id ?? `day-${def.event.days[0]?.date}`)
    : undefined;
  return sampleSend(def, step, r, o.now, item);
}

/** `convene preview <event> --step <id>` (declared in commands.ts). */
export async function previewCommand(
  kinds: KindRegistry,
  path: string,
  opts: { step: string; recipient?: string; item?: string; out: string; now?: string },
): Promise<void> {
  const def = loadEventOrThrow(path, kinds);
  const step = findStep(def, opts.step);
  const now = parseInstantOption(opts.now, def.event.timezone, "--now") ?? DateTime.utc();
  const send = previewSend(def, step, {
    ...(opts.recipient ? { recipient: opts.recipient } : {}),
    ...(opts.item ? { item: opts.item } : {}),
    now,
  });
  const msg = await composeWith(def, send, { config: loadConfig() }, recipientOf(def, step, send));
  const { messageId, raw } = await toEml(msg);
  const name = outboxName(messageId);
  mkdirSync(opts.out, { recursive: true });
  const written: string[] = [];
  const write = (ext: string, content: string | Buffer) => {
    const file = join(opts.out, `${name}.${ext}`);
    writeFileSync(file, content);
    const rel = relative(process.cwd(), file);
    written.push(rel && !rel.startsWith("..") ? rel : resolve(file));
  };
  write("html", String(msg.html));
  write("txt", String(msg.text));
  write("eml", raw);
  const ics = icsOf(msg);
  if (ics) write("ics", ics);
  process.stdout.write(
    `${step.kind} for ${send.name} <${send.recipient}>: ${msg.subject}\n${written.map((f) => `  ${f}`).join("\n")}\n`,
  );
}
