/** The inbound samples of test/fixtures/inbound, with their placeholders filled. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { simpleParser } from "mailparser";

export const SAMPLES = new URL("../fixtures/inbound/", import.meta.url).pathname;

/** The sample with every `{{NAME}}` replaced; CRLF line ends, as mail has on the wire. */
export function sample(name: string, vars: Record<string, string | number>): string {
  const text = readFileSync(join(SAMPLES, name), "utf8").replace(/\{\{([A-Z_]+)\}\}/g, (m, k) => {
    const v = vars[k as string];
    if (v === undefined) throw new Error(`${name}: no value for ${m}`);
    return String(v);
  });
  return text.replace(/\r?\n/g, "\r\n");
}

export function parse(raw: string | Buffer) {
  return simpleParser(raw, {
    keepDeliveryStatus: true,
    skipHtmlToText: true,
    skipTextToHtml: true,
  });
}
