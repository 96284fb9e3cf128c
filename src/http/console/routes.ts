/**
 * The organizer's console under /console/: a login form, then server-rendered pages. Every page
 * but the login needs the session cookie (else 303 to /console/login); every POST needs the
 * CSRF token of @fastify/csrf-protection (else 403), the login form's included.
 */
import cookie from "@fastify/cookie";
import csrf from "@fastify/csrf-protection";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { EventDefinition } from "../../model/types.js";
import { html } from "../pages.js";
import { endSession, hasSession, startSession, tokenMatches } from "./auth.js";
import { type ConsoleData, type ControlAction, NotFound } from "./data.js";
import { when } from "./format.js";
import {
  calendarView,
  eventCard,
  messageUrl,
  progress,
  SHOWN_STATES,
  sendView,
  stepFilters,
  timelineView,
} from "./view-model.js";
import { type PageOpts, views } from "./views.js";

export interface ConsoleOptions {
  /** CONVENE_ADMIN_TOKEN. */
  token: string;
  data: ConsoleData;
  /** Signs the session and CSRF cookies: random per process, so a restart logs everyone out. */
  cookieSecret: string;
}

const PUBLIC = new Set(["/console/login"]);

type Params = Record<string, string>;
type Query = Record<string, string | undefined>;
type Body = Record<string, unknown>;

function opts(reply: FastifyReply, title: string): PageOpts {
  return { title, csrf: reply.generateCsrf() };
}

/**
 * Every console parameter is one string. A repeated one (`?email=a&email=b`, `step=a&step=b`)
 * parses to an array and a JSON body can carry anything: refused here with a 400, rather than
 * failing deeper (a 500) or being read as absent (a repeated `step` would make a step's pause
 * the whole event's).
 */
function onlyStrings(request: FastifyRequest): void {
  for (const [where, values] of [
    ["query", request.query],
    ["form", request.body],
  ] as const) {
    if (typeof values !== "object" || values === null) continue;
    const bad = Object.entries(values).find(([, v]) => typeof v !== "string");
    if (bad)
      throw Object.assign(new Error(`${where} field ${bad[0]} must be given once, as text`), {
        statusCode: 400,
      });
  }
}

function field(body: unknown, name: string): string | undefined {
  const v = (body as Body | undefined)?.[name];
  return typeof v === "string" && v.trim() ? v.trim() : undefined;
}

/** The HTML of a message, alone: no script, no remote content, not framed, and not a page of ours. */
const MESSAGE_CSP =
  "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

export async function consoleRoutes(app: FastifyInstance, o: ConsoleOptions): Promise<void> {
  await app.register(cookie, { secret: o.cookieSecret });
  await app.register(csrf, {
    sessionPlugin: "@fastify/cookie",
    cookieOpts: {
      signed: true,
      httpOnly: true,
      sameSite: "strict",
      secure: "auto",
      path: "/console",
    },
  });
  const data = o.data;

  app.addHook("onRequest", async (request, reply) => {
    const path = request.url.split("?")[0] ?? "";
    if (PUBLIC.has(path) || hasSession(request)) return;
    return reply.redirect("/console/login", 303);
  });
  app.addHook("preValidation", async (request) => onlyStrings(request));
  // preHandler, not onRequest: the token is in the form body, parsed by then.
  app.addHook("preHandler", (request, reply, done) => {
    if (request.method === "POST") app.csrfProtection(request, reply, done);
    else done();
  });

  loginRoutes(app, o);
  eventRoutes(app, data);
  stepRoutes(app, data);
  recipientRoutes(app, data);
}

function loginRoutes(app: FastifyInstance, o: ConsoleOptions): void {
  app.get("/console/login", async (request, reply) => {
    if (hasSession(request)) return reply.redirect("/console/", 303);
    return html(reply, 200, views.login(opts(reply, "Log in"), {}));
  });
  app.post("/console/login", async (request, reply) => {
    if (!tokenMatches(field(request.body, "token"), o.token)) {
      request.log.warn("console login refused: wrong admin token");
      return html(
        reply,
        401,
        views.login(opts(reply, "Log in"), { error: "That is not this server's admin token." }),
      );
    }
    startSession(reply);
    return reply.redirect("/console/", 303);
  });
  app.post("/console/logout", async (_request, reply) => {
    endSession(reply);
    return reply.redirect("/console/login", 303);
  });
}

async function eventOr404(data: ConsoleData, id: string | undefined) {
  const def = id ? await data.event(id) : undefined;
  if (!def) throw Object.assign(new Error("no such event"), { statusCode: 404 });
  return def;
}

function stepOr404(steps: readonly { id: string }[], id: string | undefined): string {
  if (!id || !steps.some((s) => s.id === id))
    throw Object.assign(new Error("no such step"), { statusCode: 404 });
  return id;
}

const DONE: Record<ControlAction, string> = {
  pause: "Paused",
  resume: "Resumed",
  cancel: "Cancelled",
};

function eventRoutes(app: FastifyInstance, data: ConsoleData): void {
  app.get("/console", async (_request, reply) => reply.redirect("/console/", 303));
  app.get("/console/", async (_request, reply) => {
    const events = [];
    for (const def of await data.events()) events.push(eventCard(await data.snapshot(def)));
    const problems = await data.problems();
    return html(reply, 200, views.events(opts(reply, "Events"), { events, problems }));
  });

  app.get("/console/events/:id", async (request, reply) => {
    const def = await eventOr404(data, (request.params as Params).id);
    const snap = await data.snapshot(def);
    const view = timelineView(snap, data.timeline(snap), doneMessage(def, request.query as Query));
    return html(reply, 200, views.event(opts(reply, def.event.title), view));
  });

  for (const action of ["pause", "resume", "cancel"] as const)
    app.post(`/console/events/:id/${action}`, (request, reply) =>
      controlRoute(data, action, request, reply),
    );

  app.get("/console/events/:id/calendar", async (request, reply) => {
    const def = await eventOr404(data, (request.params as Params).id);
    const view = calendarView(def, await data.calendar(def));
    return html(
      reply,
      200,
      views.calendar(opts(reply, `Calendar items · ${def.event.title}`), view),
    );
  });

  app.get("/console/events/:id/failures", async (request, reply) => {
    const def = await eventOr404(data, (request.params as Params).id);
    const snap = await data.snapshot(def);
    const ids = new Set(snap.failures.map((f) => f.id));
    const zone = def.event.timezone;
    // Paged as the step page is: a campaign whose worker was down can have every send missed.
    const all = data.sends(snap).filter((r) => ids.has(r.id));
    const base = `/console/events/${encodeURIComponent(def.event.id)}/failures?page=`;
    const { rows, paging } = paged(all, (request.query as Query).page, base);
    return html(
      reply,
      200,
      views.failures(opts(reply, `Sends that need attention · ${def.event.title}`), {
        eventId: def.event.id,
        eventTitle: def.event.title,
        zone,
        sends: rows.map((r) => sendView(r, zone, snap.now)),
        paging,
      }),
    );
  });
}

async function controlRoute(
  data: ConsoleData,
  action: ControlAction,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const def = await eventOr404(data, (request.params as Params).id);
  // A step field, even an empty one, names a step: only its absence means the whole event.
  const given = (request.body as Body | undefined)?.step !== undefined;
  const step = given ? stepOr404(def.campaign.steps, field(request.body, "step")) : undefined;
  const what = step ? `step ${step}` : `all of ${def.event.title}`;
  const back = `/console/events/${encodeURIComponent(def.event.id)}`;
  if (action === "cancel" && field(request.body, "confirm") !== "yes")
    return html(
      reply,
      200,
      views.confirmCancel(opts(reply, "Cancel?"), { eventId: def.event.id, step, what }),
    );
  const r = await data.control(def, action, step);
  if (!r.ok)
    return html(
      reply,
      409,
      views.notice(opts(reply, "Cannot resume"), {
        text: `${what} is cancelled; a cancelled step does not resume.`,
        back,
      }),
    );
  request.log.info({ event: def.event.id, step: step ?? "*", action }, "console control");
  const q = new URLSearchParams({ done: action });
  if (step) q.set("step", step);
  if (r.released) q.set("released", String(r.released));
  return reply.redirect(`${back}?${q}`, 303);
}

/**
 * The line the timeline shows after a control, built here from what was done: the redirect
 * names the action, not a sentence, so a link cannot make a console page say what it likes
 * ("your session expired, log in at …").
 */
function doneMessage(def: EventDefinition, q: Query): string | undefined {
  const action = (Object.keys(DONE) as ControlAction[]).find((a) => a === q.done);
  if (!action) return undefined;
  const step = q.step && def.campaign.steps.some((s) => s.id === q.step) ? q.step : undefined;
  if (q.step && !step) return undefined;
  const what = step ? `step ${step}` : `all of ${def.event.title}`;
  const n = Number(q.released);
  const released = Number.isInteger(n) && n > 0 ? ` (${n} waiting sends released)` : "";
  return `${DONE[action]} ${what}${released}.`;
}

/**
 * A step can have thousands of sends: 5,000 on one page measured 2.2 MB and 1.5 s to render,
 * so the step page shows them a page at a time.
 */
export const SENDS_PER_PAGE = 200;

function pageOf(total: number, raw: string | undefined) {
  const pages = Math.max(1, Math.ceil(total / SENDS_PER_PAGE));
  const n = Number(raw);
  const page = Number.isInteger(n) && n >= 1 ? Math.min(n, pages) : 1;
  const from = (page - 1) * SENDS_PER_PAGE;
  return { page, pages, from, to: Math.min(total, from + SENDS_PER_PAGE) };
}

/** One page of `all`, and the paging line and links of the page (`base` + a page number). */
function paged<T>(all: readonly T[], raw: string | undefined, base: string) {
  const pg = pageOf(all.length, raw);
  return {
    rows: all.slice(pg.from, pg.to),
    paging: {
      ...pg,
      shownFrom: pg.from + 1,
      total: all.length,
      ...(pg.page > 1 ? { prev: `${base}${pg.page - 1}` } : {}),
      ...(pg.page < pg.pages ? { next: `${base}${pg.page + 1}` } : {}),
    },
  };
}

function stepRoutes(app: FastifyInstance, data: ConsoleData): void {
  app.get("/console/events/:id/steps/:step", async (request, reply) => {
    const p = request.params as Params;
    const def = await eventOr404(data, p.id);
    const snap = await data.snapshot(def);
    const status = snap.status.steps.find((s) => s.step === p.step);
    if (!status) throw Object.assign(new Error("no such step"), { statusCode: 404 });
    const q = (request.query as Query).state;
    const state = SHOWN_STATES.find((s) => s === q);
    const zone = def.event.timezone;
    const defined = def.campaign.steps.some((s) => s.id === status.step);
    const all = data.sends(snap, status.step).filter((r) => !state || r.state === state);
    const base = `/console/events/${encodeURIComponent(def.event.id)}/steps/${encodeURIComponent(status.step)}?${state ? `state=${state}&` : ""}page=`;
    const { rows, paging } = paged(all, (request.query as Query).page, base);
    const sends = rows.map((r) =>
      sendView(r, zone, snap.now, {
        ...(defined ? { messageUrl: messageUrl(def.event.id, r.step, r.recipient) } : {}),
      }),
    );
    return html(
      reply,
      200,
      views.step(opts(reply, `Step ${status.step}`), {
        eventId: def.event.id,
        eventTitle: def.event.title,
        kind: status.kind,
        zone,
        state,
        progress: progress(status),
        filters: stepFilters(def.event.id, status.step, state),
        sends,
        paging,
      }),
    );
  });

  app.get("/console/events/:id/steps/:step/message", async (request, reply) => {
    const p = request.params as Params;
    const def = await eventOr404(data, p.id);
    const step = stepOr404(def.campaign.steps, p.step);
    const recipient = (request.query as Query).recipient ?? "";
    const msg = await data
      .message(def, step, recipient)
      .catch((e: unknown) => (e instanceof NotFound ? e : Promise.reject(e)));
    if (msg instanceof NotFound)
      return html(
        reply,
        404,
        views.notice(opts(reply, "No such message"), {
          text: msg.message,
          back: `/console/events/${encodeURIComponent(def.event.id)}/steps/${encodeURIComponent(step)}`,
        }),
      );
    return html(
      reply,
      200,
      views.message(opts(reply, `Message · ${msg.subject}`), {
        ...msg,
        eventId: def.event.id,
        step,
        htmlUrl: messageUrl(def.event.id, step, recipient, true),
      }),
    );
  });

  app.get("/console/events/:id/steps/:step/message.html", async (request, reply) => {
    const p = request.params as Params;
    const def = await eventOr404(data, p.id);
    const step = stepOr404(def.campaign.steps, p.step);
    const msg = await data.message(def, step, (request.query as Query).recipient ?? "");
    // The organizer's own HTML (their template), shown as the recipient sees it, sandboxed.
    return html(reply.header("content-security-policy", MESSAGE_CSP), 200, msg.html);
  });
}

function recipientRoutes(app: FastifyInstance, data: ConsoleData): void {
  app.get("/console/recipients", async (request, reply) => {
    const email = (request.query as Query).email?.trim() ?? "";
    if (!email) return html(reply, 200, views.recipient(opts(reply, "Recipients"), { email: "" }));
    const found = await data.recipient(email);
    const zones = new Map((await data.events()).map((d) => [d.event.id, d.event.timezone]));
    const now = data.now();
    const sends = found.sends.map((r) =>
      sendView(r, zones.get(r.event) ?? "UTC", now, {
        withEvent: true,
        messageUrl: messageUrl(r.event, r.step, r.recipient),
      }),
    );
    const s = found.suppression;
    const zone = [...zones.values()][0] ?? "UTC";
    return html(
      reply,
      200,
      views.recipient(opts(reply, "Recipients"), {
        email,
        sends,
        ...(s ? { suppression: { reason: s.reason, at: when(Date.parse(s.at), zone, now) } } : {}),
      }),
    );
  });

  const change = (suppress: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const email = field(request.body, "email");
    if (!email) throw Object.assign(new Error("no address"), { statusCode: 400 });
    if (suppress) await data.suppress(email);
    else await data.unsuppress(email);
    request.log.info({ email, suppress }, "console suppression change");
    return reply.redirect(`/console/recipients?email=${encodeURIComponent(email)}`, 303);
  };
  app.post("/console/recipients/suppress", change(true));
  app.post("/console/recipients/unsuppress", change(false));
}
