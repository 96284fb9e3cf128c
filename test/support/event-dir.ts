import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { KINDS } from "../../jobs/index.js";

/**
 * Writes an event directory (event.yaml, campaign.yaml, CSVs...) to a fresh temp folder, so a
 * test states its whole input in one place. Templates named by the campaign are given minimal
 * stand-ins in the event's own templates/ unless the test provides them, which keeps model and
 * planner tests independent of convene's real templates.
 */
export function writeEventDir(
  files: Record<string, string>,
  templates: readonly string[] = [...KINDS.keys()],
): string {
  const dir = mkdtempSync(join(tmpdir(), "convene-test-"));
  const all: Record<string, string> = {};
  for (const t of templates)
    all[`templates/${t}.mjml`] =
      "<mjml><mj-body><mj-section><mj-column><mj-text>{{name}}</mj-text></mj-column></mj-section></mj-body></mjml>\n";
  Object.assign(all, files);
  for (const [name, text] of Object.entries(all)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A file's new text, or how to change the fixture's text of it. */
export type FileEdit = string | ((text: string) => string);

export interface BuiltEventDir {
  dir: string;
  cleanup(): void;
}

/**
 * A fixture event folder copied to a fresh temp folder of the same name (or `name`), with
 * `files` written over it: the fixture plus one test's few differences, where the repository
 * used to keep another near-identical copy of the whole folder.
 */
export function eventDirFrom(
  base: string,
  files: Record<string, FileEdit> = {},
  name = basename(base),
): BuiltEventDir {
  const parent = mkdtempSync(join(tmpdir(), `convene-${name}-`));
  const dir = join(parent, name);
  cpSync(base, dir, { recursive: true });
  for (const [file, edit] of Object.entries(files)) {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, typeof edit === "string" ? edit : edit(readFileSync(path, "utf8")));
  }
  return { dir, cleanup: () => removeDir(parent) };
}

/** A small but complete event in America/Los_Angeles, for planner and loader tests. */
export const BASE_EVENT = `id: demo
title: Demo Institute
timezone: America/Los_Angeles
organizer:
  name: Demo Organizer
  email: events@organizer.test
contact:
  name: Pat Contact
  email: pat@organizer.test
venue:
  name: Hotel
  rooms: [Main]
registration:
  deadline: 2017-05-26
days:
  - date: 2017-06-20
  - id: day-two
    date: 2017-06-21
    start: "09:00"
    end: "15:30"
    sessions:
      - id: keynote
        start: "09:20"
        title: Keynote
      - start: "10:30"
        title: Break
series:
  - id: training
    title: Training
    sessions:
      - number: 1
        title: Orientation
    cohorts:
      - id: north
        name: North Cohort
        sessions:
          - session: 1
            date: TBD
audiences:
  supers:
    file: supers.csv
  members:
    file: members.csv
registrations:
  file: registrations.csv
`;

export const SUPERS_CSV = `email,name,team,timezone
a@district-a.test,Ann A,team-a,
b@district-b.test,Bob B,team-b,America/New_York
c@county.test,Cy C,,
`;

export const MEMBERS_CSV = `email,name,team,role,new
a@district-a.test,Ann A,team-a,Superintendent,yes
a2@district-a.test,Al A,team-a,Union President,yes
b@district-b.test,Bob B,team-b,Superintendent,no
b2@district-b.test,Bea B,team-b,Board President,no
`;

/** team-a registers before the first reminder; team-b between the two reminders. */
export const REGISTRATIONS_CSV = `team,registered_at
team-a,2017-05-16 10:00
team-b,2017-05-22T20:15:00Z
`;

export function baseFiles(
  campaign: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    "event.yaml": BASE_EVENT,
    "campaign.yaml": campaign,
    "supers.csv": SUPERS_CSV,
    "members.csv": MEMBERS_CSV,
    "registrations.csv": REGISTRATIONS_CSV,
    ...overrides,
  };
}
