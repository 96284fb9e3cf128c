/**
 * Hostile event definitions, generated from one good event. Each case is a mutation of the good
 * folder: file contents replaced, a file turned into a symlink pointing out of the folder, a CSV
 * of binary noise or of 100,000 rows. `expect` says what `convene validate` must do:
 *   "error"  exit 1 with a located problem (`file:line:col`);
 *   "either" that, or exit 0, when the input is odd but harmless (a Unicode address, a DST-gap
 *            time, markup or Handlebars in a name, which are data), with `safe` checking the
 *            rendered preview when it is accepted.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DateTime } from "luxon";
import { EVENT_YAML } from "./harness.js";

export interface HostileCase {
  name: string;
  expect: "error" | "either";
  /** Applies the mutation to a copy of the good event in `dir`; `outside` is a folder beside it. */
  apply(dir: string, outside: string): void;
  /** For accepted cases: what the preview must (not) contain. */
  safe?: { htmlLacks?: string; textHas?: string };
  /** Usable as a live edit under a running worker (an error, cheap to apply). */
  live?: boolean;
  /** Big or pathological input: validated in a process of its own, not in the shared batch. */
  heavy?: boolean;
}

export const GOOD_EVENT_ID = "hostile";
const GOOD_ROWS = "ann@people.test,Ann Example\nbob@people.test,Bob Example\n";

/**
 * What a case mutates: the good campaign's `at` and the good audience's rows. A running worker's
 * event (part B) has its own; hostile CSVs keep every good row and add the hostile one, so an
 * edit that is wrongly accepted shows up as a stranger mailed, not as a changed audience.
 */
let base = { at: "2099-01-10 09:00", rows: GOOD_ROWS };
export function useBase(b: { at: string; rows: string }): void {
  base = b;
}
const rowsPlus = (extra: string) => `email,name\n${base.rows}${extra}`;

export function goodCampaign(at: string, extra = ""): string {
  return `steps:
  - id: letter
    kind: invitation-letter
    audience: people
    subject: Hostile letter
    trigger: { at: "${at}" }
    missedWindow: 1h
    attachments: [flyer.pdf]
${extra}`;
}

/** Writes the good event (or rewrites it in place: symlinks from a previous case are removed). */
export function writeGood(dir: string, at = base.at, csv = `email,name\n${base.rows}`): void {
  mkdirSync(join(dir, "recipients"), { recursive: true });
  for (const f of [
    "event.yaml",
    "campaign.yaml",
    "flyer.pdf",
    "recipients/people.csv",
    "recipients/registrations.csv",
  ])
    rmSync(join(dir, f), { force: true });
  rmSync(join(dir, "templates"), { recursive: true, force: true });
  writeFileSync(join(dir, "event.yaml"), EVENT_YAML(GOOD_EVENT_ID));
  writeFileSync(join(dir, "campaign.yaml"), goodCampaign(at));
  writeFileSync(join(dir, "flyer.pdf"), "%PDF-1.4\n% a flyer\n");
  writeFileSync(join(dir, "recipients/people.csv"), csv);
  writeFileSync(join(dir, "recipients/registrations.csv"), "team,registered_at\n");
}

const ev = (dir: string, text: string) => writeFileSync(join(dir, "event.yaml"), text);
const camp = (dir: string, text: string) => writeFileSync(join(dir, "campaign.yaml"), text);
const csv = (dir: string, text: string | Buffer) =>
  writeFileSync(join(dir, "recipients/people.csv"), text);
const good = () => EVENT_YAML(GOOD_EVENT_ID);

/** YAML's "billion laughs": nine levels of nine aliases each. */
function aliasBomb(): string {
  const lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let i = 1; i <= 9; i++)
    lines.push(`lol${i}: &l${i} [${Array.from({ length: 9 }, () => `*l${i - 1}`).join(", ")}]`);
  return `${lines.join("\n")}\n`;
}

/** The local time inside the spring-forward gap of America/Los_Angeles in 2099. */
function springGap(): string {
  let d = DateTime.fromObject({ year: 2099, month: 3, day: 1 }, { zone: "America/Los_Angeles" });
  let sundays = 0;
  while (sundays < 2) {
    if (d.weekday === 7) sundays++;
    if (sundays < 2) d = d.plus({ days: 1 });
  }
  return `${d.toFormat("yyyy-MM-dd")} 02:30`;
}

/** A YAML double-quoted scalar holding `ch` in the middle (\r, \n or \0 as YAML escapes). */
const withCh = (ch: string, base: string) => `"${base.slice(0, 4)}${ch}${base.slice(4)}"`;
const CHARS: [string, string][] = [
  ["CR", "\\r"],
  ["LF", "\\n"],
  ["NUL", "\\0"],
];
const RAW: Record<string, string> = { CR: "\r", LF: "\n", NUL: "\0" };

function headerFieldCases(): HostileCase[] {
  const out: HostileCase[] = [];
  for (const [label, esc] of CHARS) {
    const yamlFields: [string, (dir: string) => void][] = [
      [
        "event title",
        (d) => ev(d, good().replace(/^title: .*$/m, `title: ${withCh(esc, "Fault Institute")}`)),
      ],
      [
        "organizer name",
        (d) =>
          ev(
            d,
            good().replace(
              "  name: Fault Organizers",
              `  name: ${withCh(esc, "Fault Organizers")}`,
            ),
          ),
      ],
      [
        "organizer email",
        (d) =>
          ev(
            d,
            good().replace(
              "  email: org@faults.test",
              `  email: ${withCh(esc, "org@faults.test")}`,
            ),
          ),
      ],
      [
        "contact name",
        (d) =>
          ev(d, good().replace("  name: Pat Contact", `  name: ${withCh(esc, "Pat Contact")}`)),
      ],
      [
        "contact email",
        (d) =>
          ev(
            d,
            good().replace(
              "  email: pat@faults.test",
              `  email: ${withCh(esc, "pat@faults.test")}`,
            ),
          ),
      ],
      [
        "step subject",
        (d) =>
          camp(
            d,
            goodCampaign(base.at).replace(
              "subject: Hostile letter",
              `subject: ${withCh(esc, "Hostile letter")}`,
            ),
          ),
      ],
      [
        "step attachment",
        (d) =>
          camp(d, goodCampaign(base.at).replace("[flyer.pdf]", `[${withCh(esc, "flyer.pdf")}]`)),
      ],
    ];
    for (const [field, apply] of yamlFields)
      out.push({
        name: `${label} in ${field}`,
        expect: "error",
        apply,
        live: field === "step subject",
      });
    const raw = RAW[label] ?? "";
    out.push({
      name: `${label} in CSV name`,
      expect: "error",
      apply: (d) => csv(d, rowsPlus(`eve@people.test,"Eve${raw}Example"\n`)),
      live: label === "NUL",
    });
    out.push({
      name: `${label} in CSV email`,
      expect: "error",
      apply: (d) => csv(d, rowsPlus(`"eve@peo${raw}ple.test",Eve\n`)),
    });
  }
  return out;
}

export function hostileCases(): HostileCase[] {
  const big = "x".repeat(10 * 1024 * 1024);
  return [
    {
      name: "truncated event.yaml",
      expect: "error",
      apply: (d) => ev(d, good().slice(0, Math.floor(good().length * 0.55))),
      live: true,
    },
    {
      name: "truncated campaign.yaml",
      expect: "error",
      apply: (d) => {
        const text = goodCampaign(base.at);
        camp(d, text.slice(0, text.indexOf("{ at:") + 8));
      },
      live: true,
    },
    { name: "empty event.yaml", expect: "error", apply: (d) => ev(d, "") },
    {
      name: "alias bomb in event.yaml",
      heavy: true,
      expect: "error",
      apply: (d) => ev(d, good() + aliasBomb()),
      live: true,
    },
    {
      name: "alias bomb as a step's values",
      heavy: true,
      expect: "error",
      apply: (d) => camp(d, `${aliasBomb()}${goodCampaign(base.at)}    values: { bomb: *l9 }\n`),
    },
    {
      name: "10 MB event title",
      heavy: true,
      expect: "error",
      apply: (d) => ev(d, good().replace(/^title: .*$/m, `title: ${big}`)),
    },
    {
      name: "10 MB step subject",
      heavy: true,
      expect: "error",
      apply: (d) =>
        camp(d, goodCampaign(base.at).replace("subject: Hostile letter", `subject: ${big}`)),
    },
    {
      name: "10 MB CSV name",
      heavy: true,
      expect: "error",
      apply: (d) => csv(d, rowsPlus(`eve@people.test,${big}\n`)),
    },
    {
      name: "deep flow nesting (20,000 levels)",
      heavy: true,
      expect: "error",
      apply: (d) =>
        ev(d, good().replace(/^title: .*$/m, `title: ${"[".repeat(20_000)}${"]".repeat(20_000)}`)),
    },
    {
      name: "deep block nesting (3,000 levels)",
      heavy: true,
      expect: "error",
      apply: (d) =>
        ev(
          d,
          `${good()}extra:\n${Array.from({ length: 3000 }, (_, i) => `${" ".repeat(i + 1)}k${i}:`).join("\n")} x\n`,
        ),
    },
    {
      name: "duplicate YAML keys",
      expect: "error",
      apply: (d) => ev(d, `${good()}title: Again\n`),
    },
    ...headerFieldCases(),
    {
      name: "<script> in CSV name",
      expect: "either",
      apply: (d) => csv(d, 'email,name\nann@people.test,"<script>alert(1)</script>Ann"\n'),
      safe: { htmlLacks: "<script>alert(1)" },
    },
    {
      name: "Handlebars syntax in CSV name",
      expect: "either",
      apply: (d) =>
        csv(d, 'email,name\nann@people.test,"{{organizer.email}} {{#each this}}x{{/each}}"\n'),
      safe: { textHas: "{{organizer.email}}" },
    },
    {
      name: "Handlebars and <script> in the event title",
      expect: "either",
      apply: (d) =>
        ev(
          d,
          good().replace(/^title: .*$/m, "title: \"{{{lookup this 'x'}}} <script>x</script>\""),
        ),
      safe: { htmlLacks: "<script>x</script>" },
    },
    {
      name: "invalid address in CSV",
      expect: "error",
      apply: (d) => csv(d, rowsPlus("not-an-address,Eve\n")),
      live: true,
    },
    {
      name: "invalid organizer address",
      expect: "error",
      apply: (d) => ev(d, good().replace("  email: org@faults.test", "  email: org@@faults..test")),
    },
    {
      name: "Unicode address in CSV",
      expect: "either",
      apply: (d) => csv(d, rowsPlus("jörg@exämple.test,Jörg\n")),
    },
    {
      name: "unknown time zone",
      expect: "error",
      apply: (d) =>
        ev(d, good().replace("timezone: America/Los_Angeles", "timezone: Mars/Olympus_Mons")),
      live: true,
    },
    {
      name: "nonexistent local time (spring DST gap)",
      expect: "either",
      apply: (d) => camp(d, goodCampaign(springGap())),
    },
    {
      name: "duplicate step ids",
      expect: "error",
      apply: (d) =>
        camp(
          d,
          `${goodCampaign(base.at)}  - id: letter\n    kind: invitation-letter\n    audience: people\n    trigger: { at: "${base.at}" }\n`,
        ),
      live: true,
    },
    {
      name: "duplicate session ids",
      expect: "error",
      apply: (d) =>
        ev(
          d,
          good().replace(
            "    title: Day one\n",
            '    title: Day one\n    sessions:\n      - { id: s1, start: "09:00", title: A }\n      - { id: s1, start: "10:00", title: B }\n',
          ),
        ),
    },
    {
      name: "dangling audience",
      expect: "error",
      apply: (d) => camp(d, goodCampaign(base.at).replace("audience: people", "audience: nobody")),
      live: true,
    },
    {
      name: "dangling calendar item",
      expect: "error",
      apply: (d) =>
        camp(
          d,
          `${goodCampaign(base.at)}  - id: invite\n    kind: calendar-invite\n    audience: people\n    trigger: { at: "${base.at}" }\n    items: [day-2000-01-01]\n`,
        ),
    },
    {
      name: "dangling anchor",
      expect: "error",
      apply: (d) =>
        camp(
          d,
          goodCampaign(base.at).replace(
            `trigger: { at: "${base.at}" }`,
            "trigger: { anchor: item:no-such-item, offset: -1d }",
          ),
        ),
    },
    {
      name: "missing template",
      expect: "error",
      apply: (d) =>
        camp(
          d,
          goodCampaign(base.at).replace(
            "    missedWindow: 1h\n",
            "    missedWindow: 1h\n    template: no-such-template\n",
          ),
        ),
    },
    {
      name: "template name with ../",
      expect: "error",
      apply: (d) =>
        camp(
          d,
          goodCampaign(base.at).replace(
            "    missedWindow: 1h\n",
            "    missedWindow: 1h\n    template: ../../../etc/passwd\n",
          ),
        ),
    },
    {
      name: "attachment ../ out of the folder",
      expect: "error",
      apply: (d, outside) => {
        writeFileSync(join(outside, "secret.txt"), "outside\n");
        camp(d, goodCampaign(base.at).replace("[flyer.pdf]", "[../outside/secret.txt]"));
      },
      live: true,
    },
    {
      name: "attachment absolute path",
      expect: "error",
      apply: (d) => camp(d, goodCampaign(base.at).replace("[flyer.pdf]", "[/etc/passwd]")),
    },
    {
      name: "attachment symlink out of the folder",
      expect: "error",
      apply: (d, outside) => {
        writeFileSync(join(outside, "secret.txt"), "outside\n");
        rmSync(join(d, "flyer.pdf"));
        symlinkSync(join(outside, "secret.txt"), join(d, "flyer.pdf"));
      },
      live: true,
    },
    {
      name: "template symlink out of the folder",
      expect: "error",
      apply: (d, outside) => {
        writeFileSync(
          join(outside, "t.mjml"),
          "<mjml><mj-body><mj-section><mj-column><mj-text>{{name}}</mj-text></mj-column></mj-section></mj-body></mjml>\n",
        );
        mkdirSync(join(d, "templates"), { recursive: true });
        symlinkSync(join(outside, "t.mjml"), join(d, "templates/invitation-letter.mjml"));
      },
    },
    {
      name: "audience CSV symlink out of the folder",
      expect: "error",
      apply: (d, outside) => {
        writeFileSync(join(outside, "people.csv"), rowsPlus("eve@people.test,Eve\n"));
        rmSync(join(d, "recipients/people.csv"));
        symlinkSync(join(outside, "people.csv"), join(d, "recipients/people.csv"));
      },
      live: true,
    },
    {
      name: "audience file ../ out of the folder",
      expect: "error",
      apply: (d, outside) => {
        writeFileSync(join(outside, "people.csv"), rowsPlus("eve@people.test,Eve\n"));
        ev(d, good().replace("file: recipients/people.csv", "file: ../outside/people.csv"));
      },
    },
    {
      name: "binary CSV",
      heavy: true,
      expect: "error",
      apply: (d) => {
        const b = Buffer.alloc(64 * 1024);
        let x = 12345;
        for (let i = 0; i < b.length; i++) {
          x = (x * 1103515245 + 12345) & 0x7fffffff;
          b[i] = x & 0xff;
        }
        csv(d, b);
      },
      live: true,
    },
    {
      name: "garbage registrations CSV",
      expect: "error",
      apply: (d) =>
        writeFileSync(
          join(d, "recipients/registrations.csv"),
          "team,registered_at\nt1,not-a-time\n",
        ),
    },
    {
      name: "100k-row CSV",
      heavy: true,
      expect: "either",
      apply: (d) =>
        csv(
          d,
          `email,name\n${Array.from({ length: 100_000 }, (_, i) => `r${i}@bulk.test,Row ${i}`).join("\n")}\n`,
        ),
    },
  ];
}
