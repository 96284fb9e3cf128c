/**
 * What the worker needs from the mail part, as small interfaces: the processors take these as
 * dependencies, so the runtime does not care how a message is built or carried. The worker
 * entry wires in the real `composeMessage` (src/mail/compose.ts) and `createMailer`
 * (src/mail/transport.ts).
 */
import type { DateTime } from "luxon";
import type Mail from "nodemailer/lib/mailer/index.js";
import type { Config } from "../config.js";
import type { CalendarParams } from "../kind.js";
import type { EventDefinition } from "../model/types.js";
import type { Send } from "../planner/send.js";

export type Composer = (
  def: EventDefinition,
  send: Send,
  o: {
    config: Config;
    calendar?: CalendarParams;
    now?: DateTime;
  },
) => Promise<Mail.Options>;

// The mail part owns these; the worker only needs the interface, not the transports.
export type { Mailer, SentInfo } from "../mail/transport.js";
