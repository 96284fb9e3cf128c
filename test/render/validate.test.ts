import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { checkTemplates } from "../../src/mail/check.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { runCli } from "../support/cli.js";
import { baseFiles, removeDir, writeEventDir } from "../support/event-dir.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

const CAMPAIGN = `steps:
  - id: letter
    kind: invitation-letter
    audience: supers
    trigger: { at: "2017-05-15 09:00" }
`;

function eventWithLetter(template: string): string {
  const dir = writeEventDir(baseFiles(CAMPAIGN, { "templates/invitation-letter.mjml": template }));
  dirs.push(dir);
  return dir;
}

const GOOD_HEAD = `<mjml>
  <mj-body>
    <mj-section>
      <mj-column>
`;

describe("convene validate renders every template", () => {
  it("fails on a broken MJML template, naming the template and its line", () => {
    const dir = eventWithLetter(
      `${GOOD_HEAD}        <mj-text>Dear {{recipient.name}}:</mj-text>
        <mj-colum>oops</mj-colum>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
`,
    );
    const r = runCli(["validate", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /templates\/invitation-letter\.mjml:6:1: template "invitation-letter"/,
    );
    expect(r.stderr).toContain("mj-colum");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("fails on a Handlebars syntax error, with its line", async () => {
    const dir = eventWithLetter(
      `${GOOD_HEAD}        <mj-text>{{#if recipient.name}}Dear {{recipient.name}}:</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
`,
    );
    const problems = await checkTemplates(loadEventOrThrow(dir, KINDS), loadConfig({}));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.file).toMatch(/templates\/invitation-letter\.mjml$/);
    expect(problems[0]?.message).toMatch(/template "invitation-letter".*Handlebars/);
  });

  it("fails when MJML would silently drop a block placed between sections", async () => {
    const dir = eventWithLetter(
      `<mjml>
  <mj-body>
    {{#if recipient.name}}
    <mj-section><mj-column><mj-text>Dear {{recipient.name}}:</mj-text></mj-column></mj-section>
    {{/if}}
  </mj-body>
</mjml>
`,
    );
    const problems = await checkTemplates(loadEventOrThrow(dir, KINDS), loadConfig({}));
    expect(problems[0]?.line).toBe(3);
    expect(problems[0]?.message).toContain("<mj-raw>");
  });

  it("passes for the bundled example and convene's own templates", () => {
    const r = runCli(["validate", "events/ca-lmi-2017", "test/fixtures/mail/seed-letter"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("2 events checked, no problems.");
    expect(r.status).toBe(0);
  });
});
