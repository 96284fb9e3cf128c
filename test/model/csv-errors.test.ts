import { describe, expect, it } from "vitest";
import { parseRecipients, parseRegistrations } from "../../src/model/csv.js";
import type { Problem } from "../../src/model/problems.js";

describe("a CSV the parser cannot read", () => {
  it("reports the parse error alone, not its columns as missing too", () => {
    const regs: Problem[] = [];
    parseRegistrations(
      "r.csv",
      'team,registered_at\nt1,2030-01-01 09:00\n"unterminated,x\n',
      "UTC",
      regs,
    );
    expect(regs.map((p) => p.message)).toHaveLength(1);
    expect(regs[0]?.message).toMatch(/quote/i);

    const people: Problem[] = [];
    parseRecipients("p.csv", 'email,name\na@b.org,"Ann\n', people);
    expect(people).toHaveLength(1);
    expect(people[0]?.message).not.toContain("missing column");
  });
});
