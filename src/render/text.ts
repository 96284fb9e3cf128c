/**
 * The text alternative. Rather than keep a second hand-written template per kind in step with
 * the MJML one, the compiled HTML template (placeholders still in it) is converted to text once
 * with html-to-text and cached beside the HTML; per recipient both are filled with the same
 * values, the text without HTML escaping. Word wrapping is off at conversion time because a wrap
 * could split a `{{placeholder}}`; clients wrap plain text themselves.
 */
import { compile } from "html-to-text";

export const htmlToTemplateText = compile({
  wordwrap: false,
  selectors: [
    // Uppercasing would also uppercase `{{placeholders}}`.
    { selector: "h1", options: { uppercase: false } },
    { selector: "h2", options: { uppercase: false } },
    { selector: "h3", options: { uppercase: false } },
    { selector: "table", options: { uppercaseHeaderCells: false } },
    { selector: "img", format: "skip" },
    { selector: "a", options: { hideLinkHrefIfSameAsText: true } },
    // MJML's Outlook-only markup and hidden helpers are not part of the message.
    { selector: "div.preheader", format: "skip" },
  ],
});

/** Tidies a filled text body: no run of blank lines, no trailing spaces, no `url [url]`. */
export function tidyText(text: string): string {
  // Only " [" is searched for, then the word before it compared: a backreference regex
  // (`(\S+) \[\1\]`) would rescan every word of the message.
  const deduped = text.replace(
    / \[(?:mailto:)?([^\]\s]+)\]/g,
    (m: string, href: string, at: number, all: string) => {
      const start = at - href.length;
      const before = start > 0 ? all.charAt(start - 1) : "";
      return start >= 0 && all.slice(start, at) === href && (!before || /\s/.test(before)) ? "" : m;
    },
  );
  return `${deduped
    .replace(/[ \t]+$/gm, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim()}\n`;
}
