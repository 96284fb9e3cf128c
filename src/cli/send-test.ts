import { DateTime } from "luxon";
import { loadConfig, redactUrl, requireUnsubscribeSecret } from "../config.js";
import type { KindRegistry } from "../kind.js";
import { composeWith, recipientOf } from "../mail/compose.js";
import { smtpMailer } from "../mail/transport.js";
import { loadEventOrThrow } from "../model/load.js";
import type { Recipient } from "../model/types.js";
import { UsageError } from "./errors.js";
import { findStep, previewSend } from "./preview.js";

/** `convene send-test <event> --step <id> --to <email>` (declared in commands.ts). */
export async function sendTestCommand(
  kinds: KindRegistry,
  path: string,
  opts: { step: string; to: string; recipient?: string },
): Promise<void> {
  const config = loadConfig();
  if (!config.smtpUrl)
    throw new UsageError("SMTP_URL is not set: send-test sends real mail through SMTP");
  requireUnsubscribeSecret();
  const def = loadEventOrThrow(path, kinds);
  const step = findStep(def, opts.step);
  const send = previewSend(def, step, {
    ...(opts.recipient ? { recipient: opts.recipient } : {}),
    now: DateTime.utc(),
  });
  const real = recipientOf(def, step, send);
  // The real recipient's content (name, salutation, team, fields) composed for the
  // tester's address, so the unsubscribe token, footer link and ATTENDEE are the tester's:
  // a click or calendar reply from the test copy must not act on the real recipient.
  const tester: Recipient = { ...real, email: opts.to };
  const msg = await composeWith(
    def,
    { ...send, recipient: tester.email },
    { config, now: DateTime.utc() },
    tester,
  );
  msg.subject = `[TEST] ${msg.subject}`;
  // A bounce of the test copy must not mark the real send bounced: no VERP envelope.
  delete msg.envelope;
  // The send id (a hash, no address) is kept so the test is recognisably that send; the
  // Message-ID gets a suffix so the test never collides with the real send's id.
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
}
