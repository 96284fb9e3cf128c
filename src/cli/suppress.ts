import type { Command } from "commander";
import { loadConfig } from "../config.js";
import { isEmail } from "../model/schema.js";
import { withStores } from "../store/index.js";
import { action, UsageError } from "./errors.js";

/**
 * Not a commander argParser: one runs per value and stops at the first bad one, while this
 * names every bad address of the list at once.
 */
function checkAddresses(emails: string[]): void {
  const bad = emails.filter((e) => !isEmail(e));
  if (bad.length) throw new UsageError(`not an e-mail address: ${bad.join(", ")}`);
}

/** `convene suppress <email...>` / `convene unsuppress <email...>`: never mail these again / allow again. */
export function registerSuppress(program: Command): void {
  program
    .command("suppress")
    .description("never mail these addresses again (any event); pending sends to them are skipped")
    .argument("<emails...>", "e-mail addresses")
    .option(
      "--reason <text>",
      "why (shown in status --failures and logs)",
      "suppressed by an organizer",
    )
    .action(
      action(async (emails: string[], opts: { reason: string }) => {
        checkAddresses(emails);
        await withStores(loadConfig(), async (stores) => {
          for (const e of emails) await stores.suppressions.add(e, opts.reason);
        });
        process.stdout.write(
          `${emails.length} address${emails.length === 1 ? "" : "es"} suppressed.\n`,
        );
      }),
    );
  program
    .command("unsuppress")
    .description(
      "allow mail to these addresses again (sends already recorded as suppressed stay so)",
    )
    .argument("<emails...>", "e-mail addresses")
    .action(
      action(async (emails: string[]) => {
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
      }),
    );
}
