/**
 * The JSON API under /api/: the console's data for scripts, with `Authorization: Bearer
 * <CONVENE_ADMIN_TOKEN>`. It reads no cookie, so a browser's session cannot be ridden into it
 * from another site, and its POSTs need no CSRF token. Shapes are documented in the README
 * ("Console and API"); the step objects are exactly `convene status --json`'s.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { EventDefinition } from "../model/types.js";
import { bearerOf, tokenMatches } from "./console/auth.js";
import {
  type ConsoleData,
  type ControlAction,
  nextDueOf,
  type SendRow,
  type Snapshot,
} from "./console/data.js";

export interface ApiOptions {
  token: string;
  data: ConsoleData;
}

type Params = Record<string, string>;

class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const isoOf = (ms: number | undefined) =>
  ms === undefined ? null : new Date(ms).toISOString().replace(/\.000Z$/, "Z");

function sendJson(r: SendRow) {
  return {
    id: r.id,
    event: r.event,
    step: r.step,
    recipient: r.recipient,
    state: r.state,
    due: isoOf(r.due),
    at: isoOf(r.at),
    reason: r.reason ?? null,
    response: r.response ?? null,
    attempts: r.attempts,
  };
}

function eventSummary(s: Snapshot) {
  const next = nextDueOf(s);
  return {
    id: s.def.event.id,
    title: s.def.event.title,
    timezone: s.def.event.timezone,
    nextDue: next ?? null,
    steps: s.status.steps,
  };
}

function eventDetail(data: ConsoleData, s: Snapshot) {
  const whole = new Map(s.controls.entries()).get("*") ?? null;
  return {
    ...eventSummary(s),
    control: whole,
    steps: data.timeline(s).map((t) => ({
      step: t.step,
      kind: t.kind,
      planned: t.planned,
      states: t.states,
      nextDue: t.nextDue,
      audience: t.audience ?? null,
      audienceSize: t.audienceSize,
      firstDue: isoOf(t.firstDue),
      lastDue: isoOf(t.lastDue),
      control: t.control,
      defined: t.defined,
    })),
  };
}

/** A worker that was down can leave every send of a campaign missed: lists come in pages. */
export const PAGE_DEFAULT = 500;
export const PAGE_MAX = 5000;

function whole(v: string | undefined, name: string, fallback: number, max: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > max)
    throw new ApiError(400, `${name} must be a whole number from 0 to ${max}`);
  return n;
}

/** `?offset=&limit=`, checked: a repeated parameter arrives as an array and is refused. */
function pageOf(q: Record<string, unknown>): { offset: number; limit: number } {
  const one = (k: string) => {
    const v = q[k];
    if (v !== undefined && typeof v !== "string") throw new ApiError(400, `${k} may be given once`);
    return v;
  };
  const limit = whole(one("limit"), "limit", PAGE_DEFAULT, PAGE_MAX);
  if (limit === 0) throw new ApiError(400, "limit must be at least 1");
  return { offset: whole(one("offset"), "offset", 0, Number.MAX_SAFE_INTEGER), limit };
}

/** Registered with prefix /api: the paths below are under it. */
export async function apiRoutes(app: FastifyInstance, o: ApiOptions): Promise<void> {
  const { data } = o;
  app.addHook("onRequest", async (request, reply) => {
    if (tokenMatches(bearerOf(request), o.token)) return;
    return reply
      .code(401)
      .header("www-authenticate", 'Bearer realm="convene"')
      .send({ error: "unauthorized", message: "send Authorization: Bearer <CONVENE_ADMIN_TOKEN>" });
  });
  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error.message }, "api request failed");
    // A 503 says only that Redis did not answer (bounded.ts): worth telling, and no secret.
    const message =
      status >= 500 && status !== 503 ? "something went wrong on the server" : error.message;
    return reply.code(status).send({ error: status === 404 ? "not_found" : "error", message });
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send({ error: "not_found", message: "no such API route" }),
  );

  const eventOf = async (request: FastifyRequest): Promise<EventDefinition> => {
    const id = (request.params as Params).id ?? "";
    const def = await data.event(id);
    if (!def) throw new ApiError(404, `no event "${id}"`);
    return def;
  };

  app.get("/events", async () => {
    const events = [];
    for (const def of await data.events()) events.push(eventSummary(await data.snapshot(def)));
    return { events };
  });
  app.get("/events/:id", async (request) =>
    eventDetail(data, await data.snapshot(await eventOf(request))),
  );
  app.get("/events/:id/failures", async (request) => {
    const window = pageOf(request.query as Params);
    const s = await data.snapshot(await eventOf(request));
    const failures = s.failures.slice(window.offset, window.offset + window.limit);
    const next = window.offset + failures.length;
    return {
      event: s.def.event.id,
      total: s.failures.length,
      offset: window.offset,
      limit: window.limit,
      next: next < s.failures.length ? next : null,
      failures,
    };
  });
  app.get("/events/:id/calendar", async (request) => {
    const def = await eventOf(request);
    return { event: def.event.id, items: await data.calendar(def) };
  });
  app.get("/recipients/:email", async (request) => {
    const email = ((request.params as Params).email ?? "").toLowerCase();
    const r = await data.recipient(email);
    return {
      email,
      suppression: r.suppression ? { at: r.suppression.at, reason: r.suppression.reason } : null,
      sends: r.sends.map(sendJson),
    };
  });

  for (const action of ["pause", "resume", "cancel"] as const) {
    app.post(`/events/:id/${action}`, (request, reply) =>
      control(data, action, request, reply, undefined),
    );
    app.post(`/events/:id/steps/:step/${action}`, (request, reply) =>
      control(data, action, request, reply, (request.params as Params).step),
    );
  }

  async function control(
    d: ConsoleData,
    action: ControlAction,
    request: FastifyRequest,
    reply: FastifyReply,
    step: string | undefined,
  ) {
    const def = await eventOf(request);
    if (step !== undefined && !def.campaign.steps.some((s) => s.id === step))
      throw new ApiError(404, `no step "${step}" in ${def.event.id}`);
    const r = await d.control(def, action, step);
    if (!r.ok)
      throw new ApiError(
        409,
        `${step ? `step ${step}` : def.event.id} is cancelled and cannot resume`,
      );
    request.log.info({ event: def.event.id, step: step ?? "*", action }, "api control");
    const s = await d.snapshot(def);
    const target = step ?? "*";
    return reply.send({
      event: def.event.id,
      step: step ?? null,
      action,
      control:
        target === "*"
          ? (new Map(s.controls.entries()).get("*") ?? null)
          : (s.controls.of(target) ?? null),
      ...(action === "resume" ? { released: r.released ?? 0 } : {}),
    });
  }
}
