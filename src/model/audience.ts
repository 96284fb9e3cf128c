import type { Recipient } from "./types.js";

/**
 * Address (lowercased) → recipient of one loaded audience. Built once per audience array (a
 * reload makes a new array, so a WeakMap forgets the old index): a linear scan per send is
 * quadratic for a 100,000-person step. The worker's definition cache shares it rather than
 * keeping a second one (3.7 MB at 100,000 recipients, issue 12).
 */
const byAddress = new WeakMap<readonly Recipient[], Map<string, Recipient>>();

export function audienceIndex(audience: readonly Recipient[]): Map<string, Recipient> {
  let index = byAddress.get(audience);
  if (!index) {
    index = new Map(audience.map((r) => [r.email.toLowerCase(), r]));
    byAddress.set(audience, index);
  }
  return index;
}
