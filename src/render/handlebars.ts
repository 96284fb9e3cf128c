/**
 * The Handlebars environment templates are filled in: one private instance (so helpers do not
 * leak into other users of the global), with the few helpers templates need to turn definition
 * data into prose. Values are HTML-escaped by Handlebars in the HTML body; the text body is
 * filled from the same template without escaping.
 */
import Handlebars from "handlebars";

export const hb = Handlebars.create();

/**
 * Only http(s) and mailto links survive; anything else (javascript:, data:) becomes `#`. WHATWG
 * URL parsing percent-encodes spaces and non-ASCII, so the value is safe inside `href="..."` once
 * Handlebars has HTML-escaped it.
 */
export function safeUrl(value: unknown): string {
  if (typeof value !== "string" || !value) return "#";
  if (/^mailto:/i.test(value)) {
    const addr = value.slice(7);
    return `mailto:${encodeURI(addr)}`;
  }
  try {
    const u = new URL(value);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : "#";
  } catch {
    return "#";
  }
}

/**
 * The letters are American English, so the locale is fixed rather than the server's: en-US
 * writes the serial comma, as in the letter's coalition sentence.
 */
const serialList = new Intl.ListFormat("en-US", { style: "long", type: "conjunction" });

/** "A", "A and B", "A, B, and C". */
export function listText(items: unknown): string {
  return serialList.format((Array.isArray(items) ? items : []).map(String).filter(Boolean));
}

hb.registerHelper("url", (v: unknown) => safeUrl(v));
hb.registerHelper("mailto", (v: unknown) => safeUrl(typeof v === "string" ? `mailto:${v}` : ""));
hb.registerHelper("list", (v: unknown) => listText(v));
hb.registerHelper("upper", (v: unknown) => (typeof v === "string" ? v.toUpperCase() : ""));
hb.registerHelper("lowerFirst", (v: unknown) =>
  typeof v === "string" && v ? v.charAt(0).toLowerCase() + v.slice(1) : "",
);
/** Ends a sentence with a period unless the value already does ("Pedro Noguera, Ph.D."). */
hb.registerHelper("sentence", (v: unknown) =>
  typeof v === "string" && v ? (/[.!?]$/.test(v) ? v : `${v}.`) : "",
);
hb.registerHelper("eq", (a: unknown, b: unknown) => a === b);
/** `{{or a b "default"}}`: the first non-empty value (Handlebars passes its options object last). */
hb.registerHelper("or", (...args: unknown[]) =>
  args.slice(0, -1).find((v) => v !== undefined && v !== null && v !== ""),
);
