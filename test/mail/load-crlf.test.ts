import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadEvent } from "../../src/model/load.js";
import { formatProblem } from "../../src/model/problems.js";
import { ROOT } from "../support/cli.js";

const FIXTURES = join(ROOT, "test", "fixtures", "mail");

describe("values that could forge mail headers", () => {
  it("a recipient name with CR/LF is rejected when the CSV is loaded", () => {
    const r = loadEvent(join(FIXTURES, "crlf-name"), KINDS);
    expect(r.definition).toBeUndefined();
    const lines = r.problems.map(formatProblem);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /recipients\/superintendents\.csv:\d+:\d+: name: must be a single line/,
    );
  });

  it("a step subject with CR/LF is rejected when the campaign is loaded", () => {
    const r = loadEvent(join(FIXTURES, "crlf-subject"), KINDS);
    expect(r.definition).toBeUndefined();
    const lines = r.problems.map(formatProblem);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/campaign\.yaml:5:\d+: steps\[0\]\.subject: must be a single line/);
  });
});
