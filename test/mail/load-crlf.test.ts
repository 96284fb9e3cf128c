import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEvent } from "../../src/model/load.js";
import { formatProblem } from "../../src/model/problems.js";
import { ROOT } from "../support/cli.js";
import { type BuiltEventDir, eventDirFrom } from "../support/event-dir.js";

const SEED_LETTER = join(ROOT, "test", "fixtures", "mail", "seed-letter");
const built: BuiltEventDir[] = [];
afterAll(() => {
  for (const b of built) b.cleanup();
});

/** The seed-letter event with one file changed, loaded as convene would. */
function loadWith(files: Record<string, string>) {
  const b = eventDirFrom(SEED_LETTER, files);
  built.push(b);
  return loadEvent(b.dir, KINDS);
}

const LETTER_ONLY = (subject?: string) => `steps:
  - id: invitation-letter
    kind: invitation-letter
    audience: superintendents
${subject === undefined ? "" : `    subject: ${JSON.stringify(subject)}\n`}    trigger: { at: "2017-05-15 09:00" }
`;

describe("values that could forge mail headers", () => {
  it("a recipient name with CR/LF is rejected when the CSV is loaded", () => {
    const r = loadWith({
      "campaign.yaml": LETTER_ONLY(),
      "recipients/superintendents.csv": `email,name,salutation,title,organization,team
thomas.goldberg@alameda-coe.k12.test,Thomas Goldberg,Superintendent Goldberg,County Superintendent of Schools,Alameda County Office of Education,alameda-coe
mallory@evil.test,"Mallory
Bcc: victim@example.org",,,,
`,
    });
    expect(r.definition).toBeUndefined();
    const lines = r.problems.map(formatProblem);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /recipients\/superintendents\.csv:\d+:\d+: name: must be a single line/,
    );
  });

  it("a step subject with CR/LF is rejected when the campaign is loaded", () => {
    const r = loadWith({ "campaign.yaml": LETTER_ONLY("Invitation\r\nBcc: victim@example.org") });
    expect(r.definition).toBeUndefined();
    const lines = r.problems.map(formatProblem);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/campaign\.yaml:5:\d+: steps\[0\]\.subject: must be a single line/);
  });

  it("the fixture itself loads: the problem is the one changed file", () => {
    expect(loadWith({ "campaign.yaml": LETTER_ONLY("Invitation") }).problems).toEqual([]);
  });
});
