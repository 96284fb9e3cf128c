/**
 * Every command's name, arguments, options and description, in the order `--help` lists them.
 * The code that runs a command is imported only when that command runs: `convene --help`,
 * `--version` and a usage error load none of it, and `plan` never loads MJML, BullMQ or ioredis,
 * which the worker's and the mail commands' modules would bring along (MJML alone takes 0.8 s).
 * So this file imports nothing heavier than commander and the option parsers, which commander
 * must have while it parses.
 */
import type { Command } from "commander";
import type { KindRegistry } from "../kind.js";
import { action } from "./errors.js";
import { cronExpression, durationArg, emailAddress, wholeNumberAtLeast } from "./options.js";
import { DEFAULT_LISTEN, listenAddress, publicUrl } from "./serve-options.js";

/** The kind registry, loaded by the first command that needs it (the composition root decides). */
export type LoadKinds = () => Promise<KindRegistry>;

type Run<A extends unknown[]> = (...args: A) => Promise<void>;

/** A command's action that imports its implementation when the command runs. */
function lazy<A extends unknown[]>(load: () => Promise<Run<A>>): Run<A> {
  return async (...args) => (await load())(...args);
}

/** The same for an implementation that needs the kinds; both load at once. */
function lazyWithKinds<A extends unknown[]>(
  kinds: LoadKinds,
  load: () => Promise<(kinds: KindRegistry, ...args: A) => Promise<void>>,
): Run<A> {
  return async (...args) => {
    const [run, registry] = await Promise.all([load(), kinds()]);
    await run(registry, ...args);
  };
}

const EVENT_ARG = "an event directory or its event.yaml";

function declareValidate(program: Command, kinds: LoadKinds): void {
  program
    .command("validate")
    .description(
      "check event definitions, recipients and templates; list every problem with its file and line",
    )
    .argument("<paths...>", "event directories, event.yaml files, or folders of events")
    .action(lazyWithKinds(kinds, async () => (await import("./validate.js")).validateCommand));
}

function declarePlan(program: Command, kinds: LoadKinds): void {
  program
    .command("plan")
    .description("list every send the campaign will make, in time order")
    .argument("<event>", EVENT_ARG)
    .option(
      "--from <iso>",
      "only sends due at or after this time (event-local unless it has an offset)",
    )
    .option("--to <iso>", "only sends due before this time")
    .option(
      "--now <iso>",
      "plan as of this moment: later registrations are not known yet (default: now)",
    )
    .option("--json", "one JSON object per send, for scripts")
    .action(lazyWithKinds(kinds, async () => (await import("./plan.js")).planCommand));
}

function declareCalendar(program: Command, kinds: LoadKinds): void {
  program
    .command("calendar")
    .description(
      "write the event's calendar files (.ics): the agenda, each day, training series and save-the-dates",
    )
    .argument("<event>", EVENT_ARG)
    .requiredOption("--out <dir>", "folder to write the .ics files to (created if missing)")
    .option(
      "--stamp <iso>",
      "DTSTAMP to write (default: now); fixing it makes the files byte-for-byte reproducible",
    )
    .action(
      action(lazyWithKinds(kinds, async () => (await import("./calendar.js")).calendarCommand)),
    );
}

function declareWorker(program: Command, kinds: LoadKinds): void {
  program
    .command("worker")
    .description("run the scheduler and the senders: every send goes out at its moment, once")
    .argument("[paths...]", "event directories or folders of events", ["events"])
    .option(
      "--cron <expression>",
      "when the scheduler re-plans (node-cron syntax)",
      cronExpression,
      "* * * * *",
    )
    .option("--no-scheduler", "only send; another process schedules")
    .option("--scheduler-only", "only schedule; other processes send")
    .option(
      "--concurrency <n>",
      "sends in progress at once in this process (default 10)",
      wholeNumberAtLeast(1),
    )
    .option(
      "--horizon <duration>",
      "queue sends due within this time (default 1h)",
      durationArg("--horizon"),
    )
    .option("--serve", "also run convene serve (unsubscribe, /healthz, /metrics) in this process")
    .option(
      "--listen <host:port>",
      `with --serve: where to listen (default ${DEFAULT_LISTEN})`,
      listenAddress,
    )
    .option(
      "--public-url <url>",
      "the address the public reaches convene serve at: UNSUBSCRIBE_URL defaults to <url>/unsubscribe (default CONVENE_PUBLIC_URL)",
      publicUrl,
    )
    .option("--inbound", "also read the organizer's mailbox (IMAP_URL), as convene inbound does")
    .action(action(lazyWithKinds(kinds, async () => (await import("./worker.js")).workerCommand)));
}

function declareServe(program: Command, kinds: LoadKinds): void {
  program
    .command("serve")
    .description(
      "answer the one-click unsubscribe links in bulk mail (RFC 8058); with CONVENE_ADMIN_TOKEN the organizer's console (/console/) and JSON API (/api/); /metrics and /healthz",
    )
    .argument("[paths...]", "event directories or folders of events (to name the organizer)", [
      "events",
    ])
    .option("--listen <host:port>", `where to listen (default ${DEFAULT_LISTEN})`, listenAddress)
    .option(
      "--public-url <url>",
      "the address the public reaches this server at (default CONVENE_PUBLIC_URL)",
      publicUrl,
    )
    .action(action(lazyWithKinds(kinds, async () => (await import("./serve.js")).serveCommand)));
}

function declareRehearse(program: Command, kinds: LoadKinds): void {
  program
    .command("rehearse")
    .description(
      "run the whole campaign in simulated time through the real worker, into the outbox (never SMTP)",
    )
    .argument("<event>", EVENT_ARG)
    .option("--until <iso>", "stop the simulated clock here (event-local unless it has an offset)")
    .option("--verbose", "log every send outcome")
    .option("--wide", "the status table with every state in its own column")
    .action(lazyWithKinds(kinds, async () => (await import("./rehearse.js")).rehearseCommand));
}

export function declareStatus(program: Command, kinds: LoadKinds): void {
  program
    .command("status")
    .description("delivery status per step: how many sends are in each state, and what is next")
    .argument("<event>", EVENT_ARG)
    .option("--step <id>", "only this step")
    .option("--json", "machine-readable output (stable shape)")
    .option("--wide", "every state in its own column, however wide the terminal")
    .option(
      "--failures",
      "list every failed, bounced, missed and unconfirmed send (and sends possibly delivered twice) with its reason",
    )
    .option(
      "--rsvp",
      "calendar answers per item and team: accepted, declined, tentative, no answer (read by convene inbound)",
    )
    .action(action(lazyWithKinds(kinds, async () => (await import("./status.js")).statusCommand)));
}

/** `registrations import <event> <csv>` and `register <event> --team <id>`. */
export function declareRegistrations(program: Command, kinds: LoadKinds): void {
  program
    .command("registrations")
    .description("record team registrations")
    .command("import")
    .description("record the registrations in a CSV (team,registered_at)")
    .argument("<event>", EVENT_ARG)
    .argument("<csv>", "CSV with columns team and registered_at")
    .action(
      action(
        lazyWithKinds(
          kinds,
          async () => (await import("./registrations.js")).importRegistrationsCommand,
        ),
      ),
    );

  program
    .command("register")
    .description("record that a team registered (now, or at --at)")
    .argument("<event>", EVENT_ARG)
    .requiredOption("--team <id>", "the team id, as in the audience CSV's team column")
    .option("--at <iso>", "when it registered (event-local unless it has an offset; default now)")
    .action(
      action(
        lazyWithKinds(kinds, async () => (await import("./registrations.js")).registerCommand),
      ),
    );
}

/** `suppress <emails...>` and `unsuppress <emails...>`: they name no event, so load no kinds. */
export function declareSuppress(program: Command): void {
  program
    .command("suppress")
    .description("never mail these addresses again (any event); pending sends to them are skipped")
    .argument("<emails...>", "e-mail addresses")
    .option(
      "--reason <text>",
      "why (shown in status --failures and logs)",
      "suppressed by an organizer",
    )
    .action(action(lazy(async () => (await import("./suppress.js")).suppressCommand)));
  program
    .command("unsuppress")
    .description(
      "allow mail to these addresses again (sends already recorded as suppressed stay so)",
    )
    .argument("<emails...>", "e-mail addresses")
    .action(action(lazy(async () => (await import("./suppress.js")).unsuppressCommand)));
}

/** `pause|resume|cancel <event> [--step <id>]`. */
export function declareControl(program: Command, kinds: LoadKinds): void {
  const control = (
    name: string,
    description: string,
    load: () => Promise<(k: KindRegistry, path: string, opts: { step?: string }) => Promise<void>>,
  ) =>
    program
      .command(name)
      .description(description)
      .argument("<event>", EVENT_ARG)
      .option("--step <id>", "only this step")
      .action(action(lazyWithKinds(kinds, load)));
  control(
    "pause",
    "hold sends of an event (or one step) until resume; nothing is lost",
    async () => (await import("./control.js")).pauseCommand,
  );
  control(
    "resume",
    "continue a paused event or step; sends still inside their missed window go out",
    async () => (await import("./control.js")).resumeCommand,
  );
  control(
    "cancel",
    "stop an event (or one step) for good: its remaining sends are recorded as skipped",
    async () => (await import("./control.js")).cancelCommand,
  );
}

function declarePreview(program: Command, kinds: LoadKinds): void {
  program
    .command("preview")
    .description("render one message of a step to files: .html, .txt, .eml (and .ics for invites)")
    .argument("<event>", EVENT_ARG)
    .requiredOption("--step <id>", "the campaign step")
    .option("--recipient <email>", "whose message (default: the step's first recipient)")
    .option("--item <id>", "for calendar invites: which calendar item")
    .option("--out <dir>", "where to write the files", "preview")
    .option("--now <iso>", "plan as of this moment (default: now)")
    .action(
      action(lazyWithKinds(kinds, async () => (await import("./preview.js")).previewCommand)),
    );
}

function declareSendTest(program: Command, kinds: LoadKinds): void {
  program
    .command("send-test")
    .description("send one real message of a step to an address of yours, through SMTP_URL")
    .argument("<event>", EVENT_ARG)
    .requiredOption("--step <id>", "the campaign step")
    .requiredOption("--to <email>", "where the test goes (instead of the recipient)", emailAddress)
    .option("--recipient <email>", "whose message to send (default: the step's first recipient)")
    .action(
      action(lazyWithKinds(kinds, async () => (await import("./send-test.js")).sendTestCommand)),
    );
}

function declareInbound(program: Command, kinds: LoadKinds): void {
  program
    .command("inbound")
    .description(
      "read the organizer's mailbox (IMAP_URL): bounces, calendar replies (RSVPs) and mailto unsubscribes",
    )
    .argument("[paths...]", "event directories or folders of events", ["events"])
    .option("--once", "read what is there, then exit (default: keep watching)")
    .option(
      "--poll <duration>",
      "how often to look when the server does not push new mail (default 1m)",
      durationArg("--poll"),
    )
    .option("--flag", "flag processed messages ($ConveneProcessed) instead of moving them")
    .option("--folder <name>", "where processed messages go (default convene/processed)")
    .action(
      action(
        lazyWithKinds(kinds, async () => {
          const m = await import("./inbound.js");
          return (k: KindRegistry, paths: string[], o: InboundCliOpts) =>
            m.inboundCommand(k, paths, {
              ...(o.once ? { once: true } : {}),
              ...(o.poll !== undefined ? { poll: o.poll } : {}),
              mark: o.flag ? "flag" : "move",
              ...(o.folder ? { folder: o.folder } : {}),
            });
        }),
      ),
    );
}

interface InboundCliOpts {
  once?: boolean;
  poll?: number;
  flag?: boolean;
  folder?: string;
}

/** Every command, in the order `convene --help` lists them. */
export function declareCommands(program: Command, kinds: LoadKinds): void {
  declareValidate(program, kinds);
  declarePlan(program, kinds);
  declareCalendar(program, kinds);
  declareWorker(program, kinds);
  declareServe(program, kinds);
  declareRehearse(program, kinds);
  declareStatus(program, kinds);
  declareRegistrations(program, kinds);
  declareSuppress(program);
  declareControl(program, kinds);
  declarePreview(program, kinds);
  declareSendTest(program, kinds);
  declareInbound(program, kinds);
}
