/**
 * Values that reach a mail header, from YAML or CSV: addresses that a server would deliver
 * somewhere else (a NUL truncates the address at some hops), and lengths that make every send
 * fail with "500 Line too long" (issue 8). Each is refused when the files are loaded, located.
 */

import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEvent } from "../../src/model/load.js";
import { formatProblem } from "../../src/model/problems.js";
import { email, isEmail, MAX_LINE_LENGTH } from "../../src/model/schema.js";
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

function lines(files: Record<string, string>): string[] {
  const dir = writeEventDir(baseFiles(CAMPAIGN, files));
  dirs.push(dir);
  return loadEvent(dir, KINDS)
    .problems.map(formatProblem)
    .map((l) => l.replace(`${dir}/`, ""));
}

function emailMessage(s: string): string | undefined {
  const r = email.safeParse(s);
  return r.success ? undefined : r.error.issues.map((i) => i.message).join("; ");
}

describe("e-mail addresses", () => {
  it.each([
    ["ann@district-a.test"],
    ["o'brien+institute@sub.county.k12.test"],
    ["First.Last@Example.ORG"],
  ])("accepts %s", (address) => {
    expect(emailMessage(address)).toBeUndefined();
    expect(isEmail(address)).toBe(true);
  });

  it.each([
    ["victim@mail.test\u0000@attacker.test", /control character/],
    ["ann\u0000@district-a.test", /control character/],
    ["ann@district-a.test\r\nBcc: all@x.test", /single line/],
    ["ann\t@district-a.test", /control character/],
    ["ann lee@district-a.test", /space/],
    ['"ann lee"@district-a.test', /quoted/],
    ['"ann"@district-a.test', /quoted/],
    ["jürgen@district-a.test", /SMTPUTF8/],
    ["ann@bücher.test", /xn--/],
    [`${"a".repeat(65)}@district-a.test`, /64/],
    [`ann@${"d".repeat(250)}.test`, /254/],
    ["ann@district-a", /not a valid e-mail address/],
    ["ann@@district-a.test", /not a valid e-mail address/],
  ])("refuses %j", (address, why) => {
    expect(emailMessage(address)).toMatch(why);
    expect(isEmail(address)).toBe(false);
  });

  it("in a CSV, each bad address is located at its field", () => {
    const members = `${MEMBERS_CSV}x@district-a.test,Null Name\u0000,team-a,Principal,no
"victim@mail.test\u0000@attacker.test",Eve,team-a,Principal,no
jürgen@district-a.test,Jürgen,team-a,Principal,no
`;
    expect(lines({ "members.csv": members })).toEqual([
      "members.csv:6:19: name: must not contain control characters (found U+0000)",
      'members.csv:7:1: email: "victim@mail.test\\u0000@attacker.test" must not contain control characters (found U+0000)',
      expect.stringMatching(/^members\.csv:8:1: email: "jürgen@district-a\.test" .*SMTPUTF8/),
    ]);
  });

  it("in YAML, located at the value", () => {
    const event = BASE_EVENT.replace(
      "  email: pat@organizer.test",
      '  email: "pat\\0@organizer.test"',
    );
    expect(lines({ "event.yaml": event })).toEqual([
      "event.yaml:9:10: contact.email: must not contain control characters (found U+0000)",
    ]);
  });
});

describe("header-bound lengths", () => {
  it(`caps subjects, names and titles at ${MAX_LINE_LENGTH} characters`, () => {
    const long = "x".repeat(5000);
    const event = BASE_EVENT.replace("title: Demo Institute", `title: ${long}`).replace(
      "  name: Pat Contact",
      `  name: ${"P".repeat(MAX_LINE_LENGTH + 1)}`,
    );
    const campaign = `${CAMPAIGN}    subject: ${long}\n`;
    expect(lines({ "event.yaml": event, "campaign.yaml": campaign })).toEqual([
      `event.yaml:2:8: title: must be at most ${MAX_LINE_LENGTH} characters (it has 5000): mail headers are limited to 998 bytes a line`,
      `event.yaml:8:9: contact.name: must be at most ${MAX_LINE_LENGTH} characters (it has ${MAX_LINE_LENGTH + 1}): mail headers are limited to 998 bytes a line`,
      `campaign.yaml:6:14: steps[0].subject: must be at most ${MAX_LINE_LENGTH} characters (it has 5000): mail headers are limited to 998 bytes a line`,
    ]);
  });

  it("accepts a subject of exactly the cap", () => {
    const campaign = `${CAMPAIGN}    subject: ${"é".repeat(MAX_LINE_LENGTH)}\n`;
    expect(lines({ "campaign.yaml": campaign })).toEqual([]);
  });

  it("caps CSV fields, located at the field", () => {
    const members = `${MEMBERS_CSV}z@district-a.test,${"N".repeat(MAX_LINE_LENGTH + 1)},team-a,Principal,no\n`;
    expect(lines({ "members.csv": members })).toEqual([
      `members.csv:6:19: name: must be at most ${MAX_LINE_LENGTH} characters (it has ${MAX_LINE_LENGTH + 1}): mail headers are limited to 998 bytes a line`,
    ]);
  });
});

describe("registrations CSV", () => {
  it("a team id with a control character is located, not echoed raw", () => {
    const regs = "team,registered_at\nteam-a\u0000,2017-05-16 10:00\n";
    expect(lines({ "registrations.csv": regs })).toEqual([
      "registrations.csv:2:1: team: must not contain control characters (found U+0000)",
    ]);
  });
});
