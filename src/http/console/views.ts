/**
 * The console's pages: server-rendered Handlebars (convene's template engine), no script, so
 * every page works without JavaScript under the CSP that forbids scripts. `{{ }}` escapes every
 * value; the only triple-stash is a page body this module rendered itself. Layout is lists and
 * wrapping flex rows rather than wide tables, so a page fits a 390 px phone as well as 1280 px.
 */
import Handlebars from "handlebars";

const hb = Handlebars.create();

const CSS = `*{box-sizing:border-box}
body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1b1b;background:#f4f4f4}
header{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center;padding:.75rem 1rem;background:#1d4f91;color:#fff}
header a{color:#fff}
header form{margin:0 0 0 auto}
header button{background:transparent;border:1px solid #fff;padding:.25rem .6rem}
main{max-width:64rem;margin:0 auto;padding:1rem;overflow-wrap:anywhere}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
h2{font-size:1.15rem;margin:0 0 .5rem}
a{color:#1d4f91}
.card{background:#fff;border-radius:.5rem;padding:1rem;margin:0 0 1rem}
.list{list-style:none;margin:0;padding:0}
.list>li{background:#fff;border-radius:.5rem;padding:.75rem 1rem;margin:0 0 .75rem}
.muted{color:#555;font-size:.9rem}
.row{display:flex;flex-wrap:wrap;gap:.25rem .75rem;align-items:baseline}
.bar{display:flex;width:100%;height:.9rem;border-radius:.45rem;overflow:hidden;background:#e3e3e3;margin:.4rem 0}
.bar span{display:block;height:100%}
.legend{display:flex;flex-wrap:wrap;gap:.2rem .8rem;margin:0;padding:0;list-style:none;font-size:.9rem}
.legend i{display:inline-block;width:.7rem;height:.7rem;border-radius:.2rem;margin-right:.25rem}
.s-sent{background:#2e7d32}.s-scheduled{background:#90a4ae}.s-sending{background:#42a5f5}
.s-skipped{background:#bdbdbd}.s-failed{background:#c62828}.s-missed{background:#ef6c00}
.s-unconfirmed{background:#8e24aa}.s-suppressed{background:#6d4c41}.s-bounced{background:#880e4f}
.badge{display:inline-block;padding:0 .45rem;border-radius:.3rem;color:#fff;font-size:.85rem}
.s-skipped.badge,.s-scheduled.badge{color:#1b1b1b}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin:.6rem 0 0}
.actions form{margin:0}
button{padding:.45rem .9rem;font:inherit;font-weight:600;color:#fff;background:#1d4f91;border:0;border-radius:.375rem;cursor:pointer}
button.danger{background:#b71c1c}
button.secondary{color:#1d4f91;background:#fff;border:1px solid #1d4f91}
input[type=text],input[type=email],input[type=password],input[type=search]{font:inherit;padding:.45rem;width:100%;max-width:24rem;border:1px solid #999;border-radius:.3rem}
label{display:block;margin:0 0 .25rem;font-weight:600}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fafafa;border:1px solid #ddd;padding:.75rem;font-size:.85rem}
.filters{display:flex;flex-wrap:wrap;gap:.4rem .8rem;margin:0 0 1rem}
.error{color:#b71c1c;font-weight:600}
dl{display:grid;grid-template-columns:minmax(0,max-content) minmax(0,1fr);gap:.2rem .8rem;margin:0}
dt{font-weight:600}dd{margin:0}`;

hb.registerPartial("csrf", `<input type="hidden" name="_csrf" value="{{@root.csrf}}">`);

hb.registerPartial(
  "progress",
  `<div class="bar" role="img" aria-label="{{label}}">{{#each segments}}<span class="s-{{state}}" style="width:{{pct}}%" title="{{count}} {{state}}"></span>{{/each}}</div>
<ul class="legend"><li data-state="planned"><strong>{{planned}}</strong> planned</li>{{#each counts}}<li data-state="{{state}}"{{#unless count}} hidden{{/unless}}><i class="s-{{state}}"></i><span class="n">{{count}}</span> {{state}}</li>{{/each}}</ul>`,
);

hb.registerPartial(
  "when",
  `{{#if this}}{{local}} <span class="muted">({{relative}})</span>{{else}}<span class="muted">none</span>{{/if}}`,
);

const LAYOUT = hb.compile(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{title}} · convene</title>
<style>${CSS}</style>
</head>
<body>
<header><strong>convene</strong>{{#if nav}}<a href="/console/">Events</a><a href="/console/recipients">Recipients</a>
<form method="post" action="/console/logout">{{> csrf}}<button type="submit">Log out</button></form>{{/if}}</header>
<main>
<h1>{{title}}</h1>
{{{body}}}
</main>
</body>
</html>
`);

const LOGIN = hb.compile(`{{#if error}}<p class="error">{{error}}</p>{{/if}}
{{#if disabled}}<p>{{disabled}}</p>{{else}}
<form method="post" action="/console/login" class="card">
{{> csrf}}
<label for="token">Admin token</label>
<input type="password" id="token" name="token" autocomplete="current-password" required>
<div class="actions"><button type="submit">Log in</button></div>
</form>
<p class="muted">The token is CONVENE_ADMIN_TOKEN of this server.</p>{{/if}}`);

const EVENTS = hb.compile(`{{#each problems}}<section class="card" data-problems="{{dir}}">
<p class="error">The files in {{dir}} do not load{{#if event}}; the pages show {{event}} as it was before this edit{{/if}}:</p>
<ul>{{#each problems}}<li>{{this}}</li>{{/each}}</ul>
<p class="muted">Run <code>convene validate {{dir}}</code> for the same list.</p>
</section>{{/each}}
{{#unless events}}<p>No event could be loaded from the event directories this server was given.</p>{{/unless}}
{{#each events}}<section class="card" data-event="{{id}}">
<h2><a href="/console/events/{{id}}">{{title}}</a></h2>
<p class="muted">{{id}} · {{zone}}</p>
<p>Next due send: {{> when nextDue}}</p>
<ul class="list">{{#each steps}}<li data-step="{{step}}">
<div class="row"><strong><a href="/console/events/{{../id}}/steps/{{step}}">{{step}}</a></strong><span class="muted">{{kind}}</span>{{#if control}}<span class="badge s-missed">{{control}}</span>{{/if}}</div>
{{> progress progress}}
</li>{{/each}}</ul>
</section>{{/each}}`);

const CONTROL_BUTTONS = `<div class="actions">
{{#if canPause}}<form method="post" action="/console/events/{{eventId}}/pause">{{> csrf}}{{#if step}}<input type="hidden" name="step" value="{{step}}">{{/if}}<button type="submit" class="secondary">Pause{{#unless step}} the whole event{{/unless}}</button></form>{{/if}}
{{#if canResume}}<form method="post" action="/console/events/{{eventId}}/resume">{{> csrf}}{{#if step}}<input type="hidden" name="step" value="{{step}}">{{/if}}<button type="submit">Resume{{#unless step}} the whole event{{/unless}}</button></form>{{/if}}
{{#if canCancel}}<form method="post" action="/console/events/{{eventId}}/cancel">{{> csrf}}{{#if step}}<input type="hidden" name="step" value="{{step}}">{{/if}}<button type="submit" class="danger">Cancel{{#unless step}} the whole event{{/unless}}…</button></form>{{/if}}
</div>`;
hb.registerPartial("controls", CONTROL_BUTTONS);

const EVENT =
  hb.compile(`<p class="muted">{{id}} · all times in {{zone}} · <a href="/console/events/{{id}}/calendar">Calendar items</a> · <a href="/console/events/{{id}}/failures">Sends that need attention</a></p>
{{#if message}}<p class="card">{{message}}</p>{{/if}}
<section class="card"><h2>Whole event</h2>{{#if eventControl}}<p>The whole event is <strong>{{eventControl}}</strong>.</p>{{/if}}{{> controls eventButtons}}</section>
<ol class="list">{{#each steps}}<li data-step="{{step}}">
<div class="row"><h2><a href="/console/events/{{../id}}/steps/{{step}}">{{step}}</a></h2><span class="muted">{{kind}}</span>{{#if control}}<span class="badge s-missed" data-control="{{control}}">{{control}}</span>{{/if}}{{#unless defined}}<span class="muted">(no longer in the campaign)</span>{{/unless}}</div>
<dl>
<dt>Due</dt><dd>{{> when firstDue}}{{#if lastDue}} to {{> when lastDue}}{{/if}}</dd>
{{#if nextDue}}<dt>Next</dt><dd>{{> when nextDue}}</dd>{{/if}}
<dt>Audience</dt><dd>{{#if audience}}{{audience}}, {{audienceSize}} recipient{{#unless oneRecipient}}s{{/unless}}{{else}}-{{/if}}</dd>
</dl>
{{> progress progress}}
{{#if defined}}{{> controls buttons}}{{/if}}
</li>{{/each}}</ol>`);

const CONFIRM_CANCEL = hb.compile(`<div class="card">
<p>Cancel <strong>{{what}}</strong>? Sends not yet made will be skipped, and a cancelled step cannot be resumed.</p>
<div class="actions">
<form method="post" action="/console/events/{{eventId}}/cancel">{{> csrf}}{{#if step}}<input type="hidden" name="step" value="{{step}}">{{/if}}<input type="hidden" name="confirm" value="yes"><button type="submit" class="danger">Yes, cancel {{what}}</button></form>
<form method="get" action="/console/events/{{eventId}}"><button type="submit" class="secondary">No, keep it</button></form>
</div></div>`);

const SEND_ITEM = `<li data-send="{{id}}" data-state="{{state}}">
<div class="row"><strong>{{#if name}}{{name}} {{/if}}&lt;{{recipient}}&gt;</strong><span class="badge s-{{state}}">{{state}}</span>{{#if eventId}}<span class="muted">{{eventId}} · {{step}}</span>{{/if}}</div>
<dl>
{{#if due}}<dt>Due</dt><dd>{{> when due}}</dd>{{/if}}
{{#if at}}<dt>Last change</dt><dd>{{> when at}}</dd>{{/if}}
{{#if reason}}<dt>Why</dt><dd>{{reason}}</dd>{{/if}}
{{#if response}}<dt>SMTP reply</dt><dd>{{response}}</dd>{{/if}}
{{#if attempts}}<dt>Attempts</dt><dd>{{attempts}}</dd>{{/if}}
</dl>
{{#if messageUrl}}<p><a href="{{messageUrl}}">View the message</a></p>{{/if}}
</li>`;
hb.registerPartial("send", SEND_ITEM);

hb.registerPartial(
  "paging",
  `{{#if sends}}<p class="muted" data-paging="{{paging.page}}/{{paging.pages}}">Sends {{paging.shownFrom}}–{{paging.to}} of {{paging.total}}</p>{{/if}}`,
);
hb.registerPartial(
  "pageLinks",
  `{{#if paging.prev}}<a href="{{paging.prev}}" rel="prev">Previous page</a>{{/if}} {{#if paging.next}}<a href="{{paging.next}}" rel="next">Next page</a>{{/if}}`,
);

const STEP =
  hb.compile(`<p class="muted"><a href="/console/events/{{eventId}}">{{eventTitle}}</a> · {{kind}} · all times in {{zone}}</p>
{{> progress progress}}
<nav class="filters" aria-label="Filter by state">{{#each filters}}{{#if current}}<strong>{{label}}</strong>{{else}}<a href="{{url}}">{{label}}</a>{{/if}}{{/each}}</nav>
{{#unless sends}}<p>No sends{{#if state}} in state {{state}}{{/if}}.</p>{{/unless}}
{{> paging}}
<ul class="list">{{#each sends}}{{> send}}{{/each}}</ul>
{{> pageLinks}}`);

const FAILURES =
  hb.compile(`<p class="muted"><a href="/console/events/{{eventId}}">{{eventTitle}}</a> · all times in {{zone}}</p>
{{#unless sends}}<p>No failed, bounced, missed or unconfirmed sends.</p>{{/unless}}
{{> paging}}
<ul class="list">{{#each sends}}{{> send}}{{/each}}</ul>
{{> pageLinks}}`);

const MESSAGE =
  hb.compile(`<p class="muted"><a href="/console/events/{{eventId}}/steps/{{step}}">Back to step {{step}}</a> · rendered now from the plan; nothing was sent</p>
{{#unless planned}}<p class="card">This recipient has no planned send in this step now; this is how the step's message would read for them.</p>{{/unless}}
<section class="card"><dl>
<dt>Subject</dt><dd data-field="subject">{{subject}}</dd>
<dt>From</dt><dd>{{from}}</dd>
<dt>To</dt><dd data-field="to">{{to}}</dd>
<dt>Send id</dt><dd>{{sendId}}</dd>
</dl>
<p><a href="{{htmlUrl}}">Open the HTML version</a></p></section>
<section class="card"><h2>Text version</h2><pre data-field="text">{{text}}</pre></section>`);

const RECIPIENT = hb.compile(`<form method="get" action="/console/recipients" class="card">
<label for="email">E-mail address</label>
<input type="search" id="email" name="email" value="{{email}}" required>
<div class="actions"><button type="submit">Search</button></div>
</form>
{{#if email}}
<section class="card" data-suppressed="{{#if suppression}}yes{{else}}no{{/if}}">
<h2>{{email}}</h2>
{{#if suppression}}<p>Suppressed {{suppression.at.local}} <span class="muted">({{suppression.at.relative}})</span>: {{suppression.reason}}. No e-mail goes to this address.</p>
<form method="post" action="/console/recipients/unsuppress">{{> csrf}}<input type="hidden" name="email" value="{{email}}"><button type="submit" class="secondary">Unsuppress</button></form>
{{else}}<p>Not suppressed.</p>
<form method="post" action="/console/recipients/suppress">{{> csrf}}<input type="hidden" name="email" value="{{email}}"><button type="submit" class="danger">Suppress this address</button></form>{{/if}}
</section>
{{#unless sends}}<p>No send to this address in any event.</p>{{/unless}}
<ul class="list">{{#each sends}}{{> send}}{{/each}}</ul>
{{/if}}`);

const CALENDAR =
  hb.compile(`<p class="muted"><a href="/console/events/{{eventId}}">{{eventTitle}}</a></p>
{{#unless items}}<p>This event has no calendar items.</p>{{/unless}}
<ul class="list">{{#each items}}<li data-item="{{id}}">
<div class="row"><strong>{{title}}</strong><span class="muted">{{id}}</span>{{#if cancelled}}<span class="badge s-failed">cancelled</span>{{/if}}</div>
<dl><dt>SEQUENCE</dt><dd data-field="sequence">{{sequence}}</dd>
<dt>Holders</dt><dd>{{#each holders}}<span data-holds="{{sequence}}">{{count}} hold version {{sequence}}</span>{{#unless @last}}; {{/unless}}{{else}}nobody has received it yet{{/each}}</dd></dl>
</li>{{/each}}</ul>`);

const NOTICE = hb.compile(`<p>{{text}}</p>{{#if back}}<p><a href="{{back}}">Back</a></p>{{/if}}`);

export interface PageOpts {
  title: string;
  csrf: string;
  /** The logged-in navigation; false on the login page. */
  nav?: boolean;
}

type Template = (data: object) => string;

function render(t: Template, o: PageOpts, data: object): string {
  return LAYOUT({ ...o, nav: o.nav ?? true, body: t({ ...data, csrf: o.csrf }) });
}

export const views = {
  login: (o: PageOpts, d: { error?: string; disabled?: string }) =>
    render(LOGIN, { ...o, nav: false }, d),
  events: (o: PageOpts, d: object) => render(EVENTS, o, d),
  event: (o: PageOpts, d: object) => render(EVENT, o, d),
  confirmCancel: (o: PageOpts, d: object) => render(CONFIRM_CANCEL, o, d),
  step: (o: PageOpts, d: object) => render(STEP, o, d),
  failures: (o: PageOpts, d: object) => render(FAILURES, o, d),
  message: (o: PageOpts, d: object) => render(MESSAGE, o, d),
  recipient: (o: PageOpts, d: object) => render(RECIPIENT, o, d),
  calendar: (o: PageOpts, d: object) => render(CALENDAR, o, d),
  notice: (o: PageOpts, d: { text: string; back?: string }) => render(NOTICE, o, d),
};
