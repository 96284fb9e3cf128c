/**
 * convene's HTTP side: the public one-click unsubscribe (RFC 8058), a health check and metrics. The
 * server is built from a few functions it is handed (ServeDeps), so the CLI wires it to Redis
 * through the store and tests wire it to a Redis of their own; nothing here opens a connection.
 */
import formbody from "@fastify/formbody";
import helmet from "@fastify/helmet";
import multipart from "@fastify/multipart";
import rateLimit from "@fastify/rate-limit";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from "fastify";
import type { Logger } from "pino";
import type { AddresseeLookup } from "./addressees.js";
import { apiRoutes } from "./api.js";
import { boundedMethods, STORE_TIMEOUT_MS } from "./bounded.js";
import type { ConsoleData } from "./console/data.js";
import { consoleRoutes } from "./console/routes.js";
import { type HealthDeps, health } from "./health.js";
import { type MetricsSource, metricsRoutes } from "./metrics.js";
import { html, pages } from "./pages.js";
import { unsubscribeRoutes } from "./unsubscribe.js";
import type { Unsubscriptions } from "./unsubscriptions.js";

export interface ServeDeps {
  /** UNSUBSCRIBE_SECRET: the one the worker signs List-Unsubscribe tokens with. */
  secret: string;
  unsubscriptions: Unsubscriptions;
  addressee: AddresseeLookup;
  /** Whether Redis answers, for /healthz. */
  redisAnswers: () => Promise<boolean>;
  log: Logger;
  /** fastify's trustProxy: which proxies' X-Forwarded-For to believe (the rate limit keys on it). */
  trustProxy?: FastifyServerOptions["trustProxy"];
  /** Requests per IP and window; default 100 a minute. */
  rateLimit?: { max: number; windowMs: number };
  /**
   * The organizer's console (/console/) and the JSON API (/api/), behind CONVENE_ADMIN_TOKEN.
   * Absent: neither exists (404), and only /unsubscribe and /healthz are served.
   */
  console?: { token: string; data: ConsoleData; cookieSecret: string };
  /** /healthz's scheduler part: the last tick and when it counts as stale (health.ts). */
  ticks?: Pick<HealthDeps, "lastTick" | "tickStaleAfterMs">;
  /** GET /metrics (metrics.ts); absent: no such route. */
  metrics?: MetricsSource;
  /** How long a console or API request waits for Redis before its 503 (bounded.ts). */
  storeTimeoutMs?: number;
}

/** Gmail's unsubscribes all come from Google's few addresses: the limit is per IP, so not low. */
const DEFAULT_RATE_LIMIT = { max: 100, windowMs: 60_000 };

/** The one-click form and Gmail's POST are a few dozen bytes; nothing legitimate is bigger. */
const BODY_LIMIT = 4 * 1024;

/** Helmet's defaults, tightened: no script, no frames; and no upgrade-insecure-requests, which
 * would send the form of a plain-http loopback test page to https. TLS is the proxy's job. */
const CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    styleSrc: ["'unsafe-inline'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
};

const ERROR_PAGES: Record<number, [string, string]> = {
  403: [
    "This form has expired",
    "The form did not come from this console, or it is too old. Go back, reload the page and try again.",
  ],
  404: ["Page not found", "There is no page at this address."],
  429: [
    "Too many requests",
    "Too many requests came from your network. Wait a minute and try again.",
  ],
  503: [
    "Temporarily unavailable",
    "This service is briefly unavailable. Please try again in a few minutes.",
  ],
};

function errorPage(status: number): string {
  const [title, text] =
    ERROR_PAGES[status] ??
    (status < 500
      ? ["Bad request", "This request could not be understood."]
      : ["Something went wrong", "Something went wrong on our side. Please try again later."]);
  return pages.message(title, text);
}

/** Request logs name the route, never the query: a token is an address and its credential. */
const reqSerializer = (req: { method: string; url: string }) => ({
  method: req.method,
  path: req.url.split("?")[0],
});

export async function buildServer(deps: ServeDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child(
      { component: "http" },
      { serializers: { req: reqSerializer } },
    ) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: deps.trustProxy ?? false,
    bodyLimit: BODY_LIMIT,
  });
  const limit = deps.rateLimit ?? DEFAULT_RATE_LIMIT;
  await app.register(helmet, { contentSecurityPolicy: CSP });
  await app.register(formbody);
  await app.register(rateLimit, { global: true, max: limit.max, timeWindow: limit.windowMs });

  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error.message }, "request failed");
    return html(reply, status, errorPage(status));
  });
  // Rate-limited too, so the public side cannot be scanned for pages at full speed.
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, (_request, reply) =>
    html(reply, 404, errorPage(404)),
  );

  app.get("/healthz", { config: { rateLimit: false } }, async (_request, reply) => {
    const h = await health({ redisAnswers: deps.redisAnswers, ...deps.ticks });
    return reply.code(h.status).send(h.body);
  });
  if (deps.metrics) metricsRoutes(app, deps.metrics);
  await app.register(async (child) => {
    // RFC 8058 §3.2: the one-click POST SHOULD be multipart/form-data (and MAY be urlencoded),
    // so a mail receiver that follows the RFC to the letter must not get a 415. Only here: the
    // console and API take no multipart. Limits as tight as the one field it carries needs.
    await child.register(multipart, {
      attachFieldsToBody: "keyValues",
      limits: { fields: 4, fieldNameSize: 64, fieldSize: 256, files: 0, parts: 4, headerPairs: 16 },
    });
    unsubscribeRoutes(child, deps);
  });
  const admin = deps.console && {
    ...deps.console,
    data: boundedMethods(deps.console.data, deps.storeTimeoutMs ?? STORE_TIMEOUT_MS),
  };
  if (admin) {
    await app.register((child) => consoleRoutes(child, admin));
    await app.register((child) => apiRoutes(child, admin), { prefix: "/api" });
  }
  return app;
}
