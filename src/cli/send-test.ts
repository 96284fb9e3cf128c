import type { Command } from "commander";
import { DateTime } from "luxon";
import { loadConfig, redactUrl } from "../config.js";
import { composeWith, recipientOf } from "../mail/compose.js";
import { smtpMailer } from "../mail/transport.js";
import { loadEventOrThrow } from "../model/load.js";
import { isEmail } from "../model/schema.js";
import { action, UsageError } from "./errors.js";
import { findStep, previewSend } from "./preview.js";

export function registerSendTest(program: Command): void {
  program
    .command("send-test")
    .description("send one real message of a step to an address of yours, through SMTP_URL")
    .argument("<event>", "an event directory or its event.yaml")
    .requiredOption("--step <id>", "the campaign step")
    .requiredOption("--to <email>", "where the test goes (instead of the recipient)")
    .option("--recipient <email>", "whose message to send (default: the step's first recipient)")
    .action(
      action(async (path: string, opts: { step: string; to: string; recipient?: string }) => {
        const config = loadConfig();
        if (!config.smtpUrl)
          throw new UsageError("SMTP_URL is not set: send-test sends real mail through SMTP");
        if (!isEmail(opts.to)) throw new UsageError(`--to "${opts.to}" is not an e-mail address`);
        const def = loadEventOrThrow(path);
        const step = findStep(def, opts.step);
        const send = previewSend(def, step, {
          ...(opts.recipient ? { recipient: opts.recipient } : {}),
          now: DateTime.utc(),
        });
        const msg = await composeWith(
          def,
          send,
          { config, now: DateTime.utc() },
          recipientOf(def, step, send),
        );
        // The real recipient's content goes to the tester's address, marked as a test; the
        // Message-ID gets a suffix so the test never collides with the real send's id.
        msg.to = opts.to;
        msg.subject = `[TEST] ${msg.subject}`;
        msg.messageId = String(msg.messageId).replace("@", `.test-${Date.now()}@`);
        const mailer = smtpMailer(config.smtpUrl);
        try {
          const info = await mailer.send(msg);
          process.stdout.write(
            `sent ${step.kind} (as for ${send.recipient}) to ${opts.to} via ${redactUrl(config.smtpUrl)}: ${info.response}\n`,
          );
        } finally {
          await mailer.close();
        }
      }),
    );
}
