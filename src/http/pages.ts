/**
 * The public pages: small, plain HTML that reads on a 375 px phone and works without
 * JavaScript. Handlebars (already convene's template engine) escapes every value; a private
 * instance keeps these templates apart from the mail's helpers and partials.
 */
import type { FastifyReply } from "fastify";
import Handlebars from "handlebars";

const hb = Handlebars.create();

/** `e***@district.org`: enough for a person to recognise their address, not to harvest it. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf("@");
  if (at < 1) return "***";
  return `${address.slice(0, 1)}***${address.slice(at)}`;
}

// overflow-wrap: a long address or organizer name wraps instead of widening the page.
const LAYOUT = hb.compile(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{title}}</title>
<style>
*{box-sizing:border-box}
body{margin:0;padding:1.5rem 1rem;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1b1b;background:#f4f4f4}
main{max-width:32rem;margin:0 auto;padding:1.25rem;background:#fff;border-radius:.5rem;overflow-wrap:anywhere}
h1{font-size:1.35rem;margin:0 0 .75rem}
button{width:100%;padding:.75rem 1rem;font:inherit;font-weight:600;color:#fff;background:#1d4f91;border:0;border-radius:.375rem;cursor:pointer}
button.secondary{color:#1d4f91;background:#fff;border:1px solid #1d4f91}
form{margin:1.25rem 0 0}
.note{color:#555;font-size:.9rem}
</style>
</head>
<body>
<main>
<h1>{{title}}</h1>
{{{body}}}
</main>
</body>
</html>
`);

/** Whom a page speaks of: a recipient found in one of the events given to serve, or no one known. */
export interface Addressee {
  /** The recipient's name in the audience CSV. */
  name?: string;
  /** The organizer's name in event.yaml. */
  organizer?: string;
}

interface PageData {
  masked: string;
  token: string;
  name?: string;
  organizer?: string;
  /** Minutes left to undo, when the unsubscribe can still be undone. */
  undoMinutes?: number;
}

const SENDER = `{{#if organizer}}{{organizer}}{{else}}this sender{{/if}}`;
const GREETING = `{{#if name}}<p>Hello {{name}},</p>{{/if}}`;

// Relative actions: the page is /unsubscribe?token=…, so they stay right behind a proxy that
// serves convene under a path of its own.
const CONFIRM = hb.compile(`${GREETING}
<p>Stop e-mail from ${SENDER} to <strong>{{masked}}</strong>?</p>
<form method="post" action="unsubscribe?token={{token}}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>
</form>`);

const DONE =
  hb.compile(`<p><strong>{{masked}}</strong> will receive no more e-mail from ${SENDER}.</p>
{{#if undoMinutes}}<form method="post" action="unsubscribe/undo?token={{token}}">
<button type="submit" class="secondary">Undo</button>
</form>
<p class="note">Unsubscribed by mistake? You can undo it for {{undoMinutes}} more minute{{#unless oneMinute}}s{{/unless}}.</p>{{/if}}`);

const UNDONE =
  hb.compile(`<p><strong>{{masked}}</strong> is subscribed again: e-mail from ${SENDER} will reach it as before.</p>
<p class="note">To unsubscribe later, use the link at the bottom of any of these e-mails.</p>`);

const TOO_LATE =
  hb.compile(`<p>The unsubscribe of <strong>{{masked}}</strong> can no longer be undone here: the few minutes for it have passed, or it was not made with this link.</p>
<p class="note">To receive e-mail again, reply to one of the messages and ask the organizer.</p>`);

const MESSAGE = hb.compile(`<p>{{message}}</p>`);

function page(title: string, body: string): string {
  return LAYOUT({ title, body });
}

function view(d: PageData) {
  return { ...d, oneMinute: d.undoMinutes === 1 };
}

export const pages = {
  confirm: (d: PageData) => page("Unsubscribe", CONFIRM(view(d))),
  done: (d: PageData) => page("You are unsubscribed", DONE(view(d))),
  undone: (d: PageData) => page("You are subscribed again", UNDONE(view(d))),
  tooLate: (d: PageData) => page("This can no longer be undone", TOO_LATE(view(d))),
  /** A page with one sentence: errors, and links that are not valid. */
  message: (title: string, message: string) => page(title, MESSAGE({ message })),
};

/** Every page: never cached (it names an address, and its links carry the token). */
export function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .code(status)
    .header("cache-control", "no-store")
    .type("text/html; charset=utf-8")
    .send(body);
}
