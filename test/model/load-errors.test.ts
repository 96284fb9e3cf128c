import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEvent } from "../../src/model/load.js";
import { formatProblem } from "../../src/model/problems.js";
import {
  BASE_EVENT,
  baseFiles,
  MEMBERS_CSV,
  removeDir,
  writeEventDir,
} from "../support/event-dir.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const CAMPAIGN = `steps:
  - id: letter
    kind: invitation-letter
    audience: supers
    trigger: { at: "2017-05-15 09:00" }
`;

function problems(files: Record<string, string>, templates?: string[]) {
  const dir = writeEventDir(files, templates);
  dirs.push(dir);
  const r = loadEvent(dir, KINDS);
  return { r, lines: r.problems.map(formatProblem).map((l) => l.replace(`${dir}/`, "")) };
}

describe("loader", () => {
  it("loads a correct event without problems", () => {
    const { r } = problems(baseFiles(CAMPAIGN));
    expect(r.problems).toEqual([]);
    expect(r.definition?.audiences.supers).toHaveLength(3);
    expect(r.definition?.registrations[0]?.registeredAt).toBe("2017-05-16T17:00:00.000Z");
  });

  it("reports every mistake with file, line, column and field, in one run", () => {
    const event = BASE_EVENT.replace(
      "timezone: America/Los_Angeles",
      "timezone: America/Las_Angeles",
    )
      .replace("  deadline: 2017-05-26", "  deadline: 2017-05-32")
      .replace("venue:\n  name: Hotel", "venue:\n  name: Hotel\n  adress: 1 Main St")
      .replace("  name: Pat Contact", '  name: "Pat\\r\\nBcc: victim@example.org"');
    const campaign = `${CAMPAIGN.replace("audience: supers", "audience: superintendants")}  - id: r
    kind: deadline-reminder
    audience: supers
    trigger: { anchor: registration-deadline, offest: -7d }
`;
    const supers =
      "email,name,team\na@district-a.test,Ann A,team-a\nnot-an-address,Bad Row,team-b\n";
    const { r, lines } = problems(
      baseFiles(campaign, { "event.yaml": event, "supers.csv": supers }),
    );
    expect(r.definition).toBeUndefined();
    expect(lines).toEqual(
      expect.arrayContaining([
        "event.yaml:3:11: timezone: is not an IANA time zone (like America/Los_Angeles)",
        expect.stringMatching(/^event\.yaml:8:9: contact\.name: must be a single line/),
        "event.yaml:12:3: venue.adress: unknown key (check the spelling)",
        "event.yaml:15:13: registration.deadline: must be a date like 2017-05-26",
        expect.stringMatching(
          /^campaign\.yaml:4:15: steps\[0\]\.audience: unknown audience "superintendants"/,
        ),
        "campaign.yaml:9:47: steps[1].trigger.offest: unknown key (check the spelling)",
      ]),
    );
    // The CSV row is reported too, even though the YAML has problems.
    expect(lines).toContain(
      'supers.csv:3:1: email: "not-an-address" is not a valid e-mail address',
    );
  });

  it("rejects line breaks in CSV values that can reach a header", () => {
    const members = `${MEMBERS_CSV}"evil@district-a.test","Eve\r\nBcc: all@example.org",team-a,Principal,no\n`;
    const { lines } = problems(baseFiles(CAMPAIGN, { "members.csv": members }));
    expect(lines).toEqual([
      expect.stringMatching(/^members\.csv:7:\d+: name: must be a single line/),
    ]);
  });

  it("reports duplicate recipients, unknown teams in registrations, and bad registration times", () => {
    const supers =
      "email,name,team\na@district-a.test,Ann A,team-a\nA@District-A.test,Ann Again,team-a\n";
    const regs = "team,registered_at\nteam-zz,2017-05-16 10:00\nteam-a,yesterday\n";
    const { lines } = problems(
      baseFiles(CAMPAIGN, { "supers.csv": supers, "registrations.csv": regs }),
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^supers\.csv:3:1: email: A@District-A\.test is listed twice \(first on line 2\)/,
        ),
        'registrations.csv:2:1: team: "team-zz" is not a team in any audience',
        expect.stringMatching(/^registrations\.csv:3:8: registered_at: "yesterday" is not a time/),
      ]),
    );
  });

  it("checks references: templates, anchors, items, columns, files", () => {
    const campaign = `steps:
  - id: a
    kind: announcement
    audience: supers
    template: no-such-template
    trigger: { anchor: "item:no-such-item" }
    attachments: [flyer.pdf]
  - id: b
    kind: calendar-invite
    audience: members
    trigger: { anchor: registration, offset: -1d12h, time: "09:00" }
    items: [day-two, day-three]
    when: { where: { colour: blue } }
  - id: c
    kind: invitation-letter
    audience: supers
    trigger: { at: "2017-05-15 09:00", anchor: event-start }
`;
    const { lines } = problems(baseFiles(campaign));
    expect(lines).toEqual([
      "campaign.yaml:5:15: steps[0].template: no template \"no-such-template\" in templates/ (the event's or convene's)",
      'campaign.yaml:6:24: steps[0].trigger.anchor: no calendar item "no-such-item"',
      "campaign.yaml:7:19: steps[0].attachments[0]: attachment flyer.pdf not found",
      "campaign.yaml:11:46: steps[1].trigger.offset: with a fixed `time`, the offset must be whole days (like -7d)",
      'campaign.yaml:13:30: steps[1].when.where.colour: audience "members" has no column "colour"',
      'campaign.yaml:12:22: warning: steps[1].items[1]: no calendar item "day-three"; nothing is sent for it (anyone holding it gets a cancellation)',
      "campaign.yaml:17:14: steps[2].trigger: give either `at` (a local time) or `anchor` (with an optional offset)",
    ]);
  });

  it("reports YAML syntax errors and missing files with their location", () => {
    const { lines } = problems({ "event.yaml": "id: demo\ntitle: [unclosed\n" });
    expect(lines[0]).toMatch(/^event\.yaml:\d+:\d+: /);
    expect(lines).toContain("campaign.yaml:1:1: file not found");
  });

  it("reports missing required fields at their parent", () => {
    const event = BASE_EVENT.replace("  email: pat@organizer.test\n", "");
    const { lines } = problems(baseFiles(CAMPAIGN, { "event.yaml": event }));
    expect(lines).toEqual(["event.yaml:8:3: contact.email: is required"]);
  });
});
