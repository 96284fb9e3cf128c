import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { BASE_EVENT, baseFiles, removeDir, writeEventDir } from "../support/event-dir.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
function eventDir(files: Record<string, string>): string {
  const d = writeEventDir(files);
  dirs.push(d);
  return d;
}

const CAMPAIGN = `steps:
  - id: letter
    kind: invitation-letter
    audience: supers
    trigger: { at: "2017-05-15 09:00" }
  - id: reminder
    kind: deadline-reminder
    audience: supers
    trigger: { anchor: registration-deadline, offset: -1d, time: "09:00" }
    when: { registered: false }
  - id: spring
    kind: announcement
    audience: supers
    trigger: { at: "2017-03-12 02:30" }
`;

describe("convene plan", () => {
  it("computes the same instants whatever the machine's time zone", () => {
    const dir = eventDir(baseFiles(CAMPAIGN));
    const outputs = ["UTC", "Asia/Tokyo", "America/Los_Angeles", "Europe/Berlin"].map((TZ) => {
      const r = runCli(["plan", dir, "--json"], { TZ });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      return r.stdout;
    });
    for (const o of outputs) expect(o).toBe(outputs[0]);
    const sends = JSON.parse(outputs[0] as string) as Record<string, string>[];
    const due = (step: string) =>
      new Set(sends.filter((s) => s.step === step).map((s) => `${s.due} ${s.dueLocal}`));
    expect(due("letter")).toEqual(
      new Set(["2017-05-15T16:00:00.000Z 2017-05-15T09:00:00.000-07:00"]),
    );
    expect(due("reminder")).toEqual(
      new Set(["2017-05-25T16:00:00.000Z 2017-05-25T09:00:00.000-07:00"]),
    );
    expect(due("spring")).toEqual(
      new Set(["2017-03-12T10:30:00.000Z 2017-03-12T03:30:00.000-07:00"]),
    );
    for (const s of sends)
      expect(Object.keys(s)).toEqual(
        expect.arrayContaining(["id", "event", "step", "kind", "recipient", "due", "dueLocal"]),
      );
  });

  it("prints a table per step occurrence and filters with --from/--to", () => {
    const dir = eventDir(baseFiles(CAMPAIGN));
    const r = runCli(["plan", dir, "--from", "2017-05-01", "--to", "2017-05-20"], { TZ: "UTC" });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /2017-05-15 09:00 PDT\s+2017-05-15 16:00Z\s+letter\s+invitation-letter\s+supers\s+3/,
    );
    expect(r.stdout).not.toMatch(/reminder|spring/);
    expect(r.stdout).toContain("3 sends in 1 step occurrence (");
  });

  it("says what is wrong with a bad option, without a stack trace", () => {
    const dir = eventDir(baseFiles(CAMPAIGN));
    const r = runCli(["plan", dir, "--from", "next tuesday"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'convene: --from "next tuesday" is not an ISO date or time (like 2017-05-15 or 2017-05-15T09:00)\n',
    );
  });
});

describe("convene validate", () => {
  it("exits 0 on a correct event", () => {
    const r = runCli(["validate", eventDir(baseFiles(CAMPAIGN))]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1 event checked, no problems.\n");
    expect(r.status).toBe(0);
  });

  it("lists one located message per mistake and exits 1, without a stack trace", () => {
    const event = BASE_EVENT.replace(
      "timezone: America/Los_Angeles",
      "timezone: Mars/Olympus_Mons",
    ).replace("  name: Pat Contact", '  name: "Pat\\r\\nBcc: x@example.org"');
    const campaign = CAMPAIGN.replace("audience: supers", "audience: nobody").replace(
      'trigger: { at: "2017-05-15 09:00" }',
      'trigger: { at: "2017-05-15 09:00" }\n    subjet: Hello',
    );
    const dir = eventDir(
      baseFiles(campaign, {
        "event.yaml": event.replace("deadline: 2017-05-26", "deadline: 26/05/2017"),
        "supers.csv": "email,name,team\na@x.test,Ann,team-a\nbob-at-x.test,Bob,team-b\n",
      }),
    );
    const r = runCli(["validate", dir]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines.at(-1)).toBe("6 problems found.");
    const messages = lines.slice(0, -1).map((l) => l.replace(`${dir}/`, ""));
    expect(messages).toHaveLength(6);
    for (const m of messages)
      expect(m).toMatch(/^(event\.yaml|campaign\.yaml|supers\.csv):\d+:\d+: \S/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(messages.join("\n")).toMatch(/timezone: is not an IANA time zone/);
    expect(messages.join("\n")).toMatch(/contact\.name: must be a single line/);
    expect(messages.join("\n")).toMatch(/registration\.deadline: must be a date/);
    expect(messages.join("\n")).toMatch(/steps\[0\]\.audience: unknown audience "nobody"/);
    expect(messages.join("\n")).toMatch(/steps\[0\]\.subjet: unknown key/);
    expect(messages.join("\n")).toMatch(
      /supers\.csv:3:1: email: "bob-at-x\.test" is not a valid e-mail address/,
    );
  });

  it("validates every event in a folder of events", () => {
    const parent = eventDir({});
    const one = eventDir(baseFiles(CAMPAIGN));
    const r = runCli(["validate", one, parent]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("event.yaml:1:1: file not found");
  });
});
