/**
 * RFC 8058 one-click unsubscribe and its RFC 2369 page:
 *  - POST /unsubscribe?token=… with `List-Unsubscribe=One-Click` suppresses at once, 200, no
 *    redirect: what Gmail and Yahoo send, and what the page's button sends.
 *  - GET /unsubscribe?token=… only asks (a link prefetcher or scanner must not unsubscribe).
 *  - POST /unsubscribe/undo?token=… lifts that unsubscribe for a few minutes after it.
 * A token that is not exactly one convene signed gets 400 and touches nothing.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { verifyUnsubscribeToken } from "../mail/unsubscribe.js";
import { withinTimeout } from "./bounded.js";
import { html, maskAddress, pages } from "./pages.js";
import type { ServeDeps } from "./server.js";
import type { UnsubscribeState } from "./unsubscriptions.js";

interface Verified {
  token: string;
  address: string;
}

function verified(request: FastifyRequest, secret: string): Verified | undefined {
  const token = (request.query as Record<string, unknown>).token;
  if (typeof token !== "string") return undefined;
  const address = verifyUnsubscribeToken(token, secret);
  return address === undefined ? undefined : { token, address };
}

function invalidLink(reply: FastifyReply): FastifyReply {
  return html(
    reply,
    400,
    pages.message(
      "This unsubscribe link is not valid",
      "The link may have been cut short. Copy the whole link from the e-mail, or use the unsubscribe link of a more recent message.",
    ),
  );
}

function isOneClick(body: unknown): boolean {
  return (
    typeof body === "object" &&
    body !== null &&
    (body as Record<string, unknown>)["List-Unsubscribe"] === "One-Click"
  );
}

function undoMinutes(state: UnsubscribeState): number | undefined {
  return state.undoLeftMs ? Math.ceil(state.undoLeftMs / 60_000) : undefined;
}

export function unsubscribeRoutes(app: FastifyInstance, deps: ServeDeps): void {
  const u = deps.unsubscriptions;
  const pageData = async (v: Verified, state?: UnsubscribeState) => {
    const who = await deps.addressee(v.address);
    const minutes = state && undoMinutes(state);
    return {
      masked: maskAddress(v.address),
      token: v.token,
      ...(who?.name ? { name: who.name } : {}),
      ...(who?.organizer ? { organizer: who.organizer } : {}),
      ...(minutes ? { undoMinutes: minutes } : {}),
    };
  };

  app.get("/unsubscribe", async (request, reply) => {
    const v = verified(request, deps.secret);
    if (!v) return invalidLink(reply);
    const state = await withinTimeout(u.state(v.address));
    const data = await pageData(v, state);
    return html(reply, 200, state.suppressed ? pages.done(data) : pages.confirm(data));
  });

  app.post("/unsubscribe", async (request, reply) => {
    const v = verified(request, deps.secret);
    if (!v) return invalidLink(reply);
    if (!isOneClick(request.body))
      return html(
        reply,
        400,
        pages.message(
          "Not an unsubscribe request",
          "This request did not ask to unsubscribe. Open the link from the e-mail and press the button.",
        ),
      );
    const state = await withinTimeout(u.unsubscribe(v.address));
    if (state.changed)
      request.log.info({ email: v.address }, "unsubscribed with the one-click link");
    return html(reply, 200, pages.done(await pageData(v, state)));
  });

  app.post("/unsubscribe/undo", async (request, reply) => {
    const v = verified(request, deps.secret);
    if (!v) return invalidLink(reply);
    const undone = await withinTimeout(u.undo(v.address));
    if (!undone) return html(reply, 409, pages.tooLate(await pageData(v)));
    request.log.info({ email: v.address }, "unsubscribe undone");
    return html(reply, 200, pages.undone(await pageData(v)));
  });
}
