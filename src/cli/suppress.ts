import { loadConfig } from "../config.js";
import { isEmail } from "../model/schema.js";
import { withStores } from "../store/index.js";
import { UsageError } from "./errors.js";

/**
 * Not a commander argParser: one runs per value and stops at the first bad one, while this
 * names every bad address of the list at once.
 */
function checkAddresses(emails: string[]): void {
  const bad = emails.filter((e) => !isEmail(e));
  if (bad.length) throw new UsageError(`not an e-mail address: ${bad.join(", ")}`);
}

/** `convene suppress <emails...>`: never mail these again (declared in commands.ts). */
export async function suppressCommand(emails: string[], opts: { reason: string }): Promise<void> {
  checkAddresses(emails);
  await withStores(loadConfig(), async (stores) => {
    for (const e of emails) await stores.suppressions.add(e, opts.reason);
  });
  process.stdout.write(`${emails.length} address${emails.length === 1 ? "" : "es"} suppressed.\n`);
}

/** `convene unsuppress <emails...>`: allow mail to these again (declared in commands.ts). */
export async function unsuppressCommand(emails: string[]): Promise<void> {
  checkAddresses(emails);
  const removed = await withStores(loadConfig(), async (stores) => {
    const out: string[] = [];
    for (const e of emails) if (await stores.suppressions.remove(e)) out.push(e);
    return out;
  });
  const notThere = emails.filter((e) => !removed.includes(e));
  process.stdout.write(
    `${removed.length} address${removed.length === 1 ? "" : "es"} unsuppressed.` +
      (notThere.length ? ` Not suppressed: ${notThere.join(", ")}.` : "") +
      "\n",
  );
}
