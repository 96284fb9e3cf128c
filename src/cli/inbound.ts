/**
 * `convene inbound [paths...]` and the inbound half of `convene worker --inbound`: reads the
 * organizer's mailbox (IMAP_URL) for bounces, RSVPs and mailto unsubscribes (src/inbound/).
 */

import {
  type Config,
  ConfigError,
  loadConfig,
  MIN_UNSUBSCRIBE_SECRET_LENGTH,
  requireUnsubscribeSecret,
} from "../config.js";
import type { ApplyContext } from "../inbound/apply.js";
import { ImapUrlError, imapMailbox, mailboxId, PROCESSED_FOLDER } from "../inbound/mailbox.js";
import { DEFAULT_MAX_BYTES, type PassCounts, runInbound } from "../inbound/run.js";
import type { KindRegistry } from "../kind.js";
import { checkEventPaths } from "../model/event-path.js";
import { findEventDirs, loadEventOrThrow } from "../model/load.js";
import type { EventDefinition } from "../model/types.js";
import { createStores } from "../store/index.js";
import type { Redis } from "../store/redis.js";
import { connectRedis } from "../store/redis.js";
import { createLogger, type Logger } from "../worker/logger.js";
import { UsageError } from "./errors.js";
import { stopOnSignals } from "./shutdown.js";

export interface InboundOpts {
  once?: boolean;
  /** ms between polls when the server does not push new mail. */
  poll?: number;
  mark?: "move" | "flag";
  folder?: string;
}

function maxBytes(env: NodeJS.ProcessEnv): number {
  const n = Number(env.INBOUND_MAX_BYTES);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_MAX_BYTES;
}

/** The events this process answers for, by id (a UID or send id of another event is not ours). */
export function loadInboundEvents(
  paths: string[],
  kinds: KindRegistry,
): Map<string, EventDefinition> {
  checkEventPaths(paths);
  const dirs = findEventDirs(paths);
  if (!dirs.length) throw new UsageError(`no event directories found in ${paths.join(", ")}`);
  return new Map(dirs.map((d) => loadEventOrThrow(d, kinds)).map((def) => [def.event.id, def]));
}

/**
 * A mailbox is real mail whatever SMTP_URL says (the inbound process may well run without
 * one), and the secret is what tells a real unsubscribe token and bounce tag from a forged
 * one: with the public development secret anyone could unsubscribe or bounce any address.
 */
export function requireInboundSecret(config: Pick<Config, "unsubscribeSecret">): void {
  const how = "set UNSUBSCRIBE_SECRET to the long random value the worker signs mail with";
  if (config.unsubscribeSecret === loadConfig({}).unsubscribeSecret)
    throw new ConfigError(
      `UNSUBSCRIBE_SECRET is not set: convene inbound would accept unsubscribe tokens and bounce tags signed with the public development secret; ${how}`,
    );
  if (config.unsubscribeSecret.length < MIN_UNSUBSCRIBE_SECRET_LENGTH)
    throw new ConfigError(
      `UNSUBSCRIBE_SECRET has ${config.unsubscribeSecret.length} characters; convene inbound needs at least ${MIN_UNSUBSCRIBE_SECRET_LENGTH}; ${how}`,
    );
}

export interface RunningInbound {
  done: Promise<PassCounts>;
  close(): Promise<void>;
}

/** Starts the loop on an open Redis connection; `close` stops it after the current message. */
export function startInbound(o: {
  config: Config;
  events: ReadonlyMap<string, EventDefinition>;
  redis: Redis;
  log: Logger;
  opts: InboundOpts;
}): RunningInbound {
  const url = o.config.imapUrl;
  if (!url)
    throw new UsageError("IMAP_URL is not set (like imaps://user:password@imap.example.org/INBOX)");
  requireInboundSecret(o.config);
  let id: string;
  try {
    id = mailboxId(url);
  } catch (e) {
    if (e instanceof ImapUrlError) throw new UsageError(e.message);
    throw e;
  }
  const stores = createStores(o.redis, o.config.prefix);
  const mailbox = imapMailbox(url, {
    mark: o.opts.mark ?? "move",
    folder: o.opts.folder ?? PROCESSED_FOLDER,
  });
  const ctx: ApplyContext = {
    events: o.events,
    stores,
    ...(o.config.bounceAddress ? { bounceAddress: o.config.bounceAddress } : {}),
    unsubscribeSecret: o.config.unsubscribeSecret,
    now: () => new Date(),
  };
  const abort = new AbortController();
  const done = runInbound({
    mailbox,
    mailboxId: id,
    store: stores.inbound,
    ctx,
    log: o.log,
    maxBytes: maxBytes(process.env),
    pollMs: o.opts.poll ?? 60_000,
    once: !!o.opts.once,
    signal: abort.signal,
  }).finally(() => mailbox.close());
  return {
    done,
    async close() {
      abort.abort();
      await done.catch(() => undefined);
    },
  };
}

/** `convene inbound [paths...]` (declared in commands.ts). */
export async function inboundCommand(
  kinds: KindRegistry,
  paths: string[],
  opts: InboundOpts,
): Promise<void> {
  const events = loadInboundEvents(paths, kinds);
  const config = loadConfig();
  // A mailto unsubscribe is verified with the same secret the links were signed with.
  requireUnsubscribeSecret();
  const log = createLogger();
  // A watching loop rides out a Redis restart like the worker; one pass gives up quickly.
  const redis = connectRedis(config.redisUrl, opts.once ? "cli" : "worker");
  try {
    const running = startInbound({ config, events, redis, log, opts });
    if (!opts.once) stopOnSignals(log, () => running.close(), 10_000);
    const counts = await running.done;
    log.info({ counts }, "convene inbound: pass done");
    if (opts.once) {
      const parts = Object.entries(counts).map(([k, n]) => `${n} ${k}`);
      process.stdout.write(`inbound: ${parts.length ? parts.join(", ") : "no new messages"}\n`);
    }
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
