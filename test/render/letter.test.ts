import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { convert } from "html-to-text";
import { DateTime } from "luxon";
import { afterAll, describe, expect, it } from "vitest";
import { KINDS } from "../../jobs/index.js";
import { loadConfig } from "../../src/config.js";
import { composeMessage } from "../../src/mail/compose.js";
import { loadEventOrThrow } from "../../src/model/load.js";
import { plan } from "../../src/planner/plan.js";
import { ROOT } from "../support/cli.js";
import { type BuiltEventDir, eventDirFrom } from "../support/event-dir.js";

const FIXTURES = join(ROOT, "test", "fixtures", "mail");
const config = loadConfig({});

/**
 * The seed-letter fixture with the CA LMI event's own templates: the letter's California prose
 * belongs to that event (events/ca-lmi-2017/templates/), not to convene's default letter.
 */
function seedLetterEvent(): BuiltEventDir {
  const built = eventDirFrom(join(FIXTURES, "seed-letter"));
  cpSync(join(ROOT, "events", "ca-lmi-2017", "templates"), join(built.dir, "templates"), {
    recursive: true,
  });
  return built;
}
const built = seedLetterEvent();
const SEED_LETTER = built.dir;
afterAll(() => built.cleanup());

/**
 * Compares prose, not layout: links in brackets or parentheses are dropped (the HTML has them as
 * anchors, the text as `[url]`, the seed as `(url)`), then only letters and digits are kept.
 */
function normalize(s: string): string {
  return s
    .replace(/\s*[([]\s*(?:https?|mailto):[^)\]]*[)\]]/g, "")
    .replace(/’/g, "'")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}

/** The seed letter's paragraphs, minus its generic salutation (ours is personal). */
function seedParagraphs(): string[] {
  const seed = readFileSync(join(FIXTURES, "seed-003-letter.txt"), "utf8")
    // Text of the web page around the letter's flyer link, not of the letter.
    .replace(" External link opens in new window or tab.", "");
  return seed
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p && !p.startsWith("Dear "));
}

async function letterFor(eventDir: string, address?: string) {
  const def = loadEventOrThrow(eventDir, KINDS);
  const sends = plan(def, def.registrations, DateTime.fromISO("2017-05-01T00:00:00Z")).filter(
    (s) => s.kind === "invitation-letter" && (!address || s.recipient === address),
  );
  const send = sends[0];
  if (!send) throw new Error("no letter planned");
  const msg = await composeMessage(def, send, { config });
  return { html: String(msg.html), text: String(msg.text), msg };
}

describe("the invitation letter", () => {
  it("contains every paragraph of the seed letter, with the data of the definition", async () => {
    const { html, text } = await letterFor(SEED_LETTER, "thomas.goldberg@alameda-coe.k12.test");
    const htmlText = normalize(convert(html, { wordwrap: false }));
    const plain = normalize(text);
    const paragraphs = seedParagraphs();
    expect(paragraphs.length).toBeGreaterThan(15);
    for (const p of paragraphs) {
      expect(plain, `text is missing: ${p}`).toContain(normalize(p));
      expect(htmlText, `html is missing: ${p}`).toContain(normalize(p));
    }
  });

  it("greets the superintendent personally, by salutation or else by name", async () => {
    const dir = SEED_LETTER;
    const a = await letterFor(dir, "thomas.goldberg@alameda-coe.k12.test");
    expect(a.text).toContain("Dear Superintendent Goldberg:");
    expect(a.html).toContain("Dear Superintendent Goldberg:");
    const b = await letterFor(dir, "obrien@sons.k12.test");
    expect(b.text).toContain("Dear <script>alert(1)</script> O'Brien & Sons:");
  });

  it("takes dates, venue, speakers, deadline and contact from the definition", async () => {
    const { text, html } = await letterFor(SEED_LETTER);
    expect(text).toContain("June 20-21, 2017, at the San Diego Doubletree Hotel Mission Valley");
    expect(text).toContain(
      "Please register [http://cdefoundation.org/lmi/ca-lmi-meetings/2017-summer-institute/] by May 26, 2017.",
    );
    expect(html).toContain('href="http://michaelfullan.com/"');
    expect(html).toContain('href="https://gseis.ucla.edu/directory/pedro-noguera/"');
    expect(html).toContain('href="mailto:ed@cdefoundation.org"');
    expect(html).toContain(
      'href="http://cdefoundation.org/lmi/wp-content/uploads/2017/05/Summer-Institute-Flyer_Updated-Link_050917nb1.pdf"',
    );
  });

  it("renders the bundled example's letter with every seed paragraph's words", async () => {
    // The example words a few names as other seeds do (the venue as in the agenda deck, the
    // speaker as "Pedro Noguera, Ph.D."), so this compares words, not exact sentences.
    const { text, msg } = await letterFor(join(ROOT, "events", "ca-lmi-2017"));
    const words = new Set(normalize(text).split(" "));
    for (const p of seedParagraphs()) {
      const missing = normalize(p)
        .split(" ")
        .filter((w) => !words.has(w));
      expect(missing, `paragraph: ${p}`).toEqual(missing.filter((w) => w === "hotel"));
    }
    expect(text).toMatch(/^Dear .+:$/m);
    expect(text).not.toContain("Dear County and District Superintendents");
    expect(msg.subject).toContain("Invitation");
  });
});
