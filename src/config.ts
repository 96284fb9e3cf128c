/**
 * Runtime settings from the environment, read in one place. Defaults are what a newcomer needs:
 * the local Redis and an outbox folder instead of SMTP.
 */
export interface Config {
  /** `REDIS_URL`, default redis://127.0.0.1:6379. */
  redisUrl: string;
  /** `CONVENE_PREFIX`: namespaces every Redis key, so two deployments can share one Redis. */
  prefix: string;
  /** `SMTP_URL` (smtp:// or smtps://, credentials inside). Unset means the outbox. */
  smtpUrl?: string;
  /** `OUTBOX_DIR`, default ./outbox: where .eml files go when there is no SMTP_URL. */
  outboxDir: string;
  /** `SEND_RATE`: messages per second across all workers; 0 means unlimited. */
  sendRate: number;
  /**
   * `UNSUBSCRIBE_SECRET`: signs one-click unsubscribe tokens. Defaults to a public development
   * secret; see requireUnsubscribeSecret.
   */
  unsubscribeSecret: string;
  /** `UNSUBSCRIBE_URL`: base of the https unsubscribe link, e.g. https://lists.example.org/unsubscribe */
  unsubscribeUrl?: string;
}

/**
 * Signs unsubscribe tokens when `UNSUBSCRIBE_SECRET` is unset. It is public (it is in this
 * file), so tokens signed with it are forgeable: fine for the outbox, never for real mail.
 */
const DEV_UNSUBSCRIBE_SECRET = "convene-dev-secret-change-me";

/** A setting that makes the process unsafe to start; its message is one line for the organizer. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Real mail (SMTP_URL) needs a secret of its own: with the public default anyone could mint a
 * valid one-click unsubscribe link for any address. Commands that send call this at start-up.
 */
export function requireUnsubscribeSecret(env: NodeJS.ProcessEnv = process.env): void {
  if (!env.SMTP_URL) return;
  const secret = env.UNSUBSCRIBE_SECRET;
  if (!secret || secret === DEV_UNSUBSCRIBE_SECRET)
    throw new ConfigError(
      `UNSUBSCRIBE_SECRET is ${secret ? "the public development secret" : "not set"}, and SMTP_URL is: unsubscribe links in real mail would be forgeable; set UNSUBSCRIBE_SECRET to a long random value (e.g. openssl rand -hex 32)`,
    );
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const rate = Number(env.SEND_RATE ?? 0);
  return {
    redisUrl: env.REDIS_URL || "redis://127.0.0.1:6379",
    prefix: env.CONVENE_PREFIX || "convene",
    ...(env.SMTP_URL ? { smtpUrl: env.SMTP_URL } : {}),
    outboxDir: env.OUTBOX_DIR || "outbox",
    sendRate: Number.isFinite(rate) && rate > 0 ? rate : 0,
    unsubscribeSecret: env.UNSUBSCRIBE_SECRET || DEV_UNSUBSCRIBE_SECRET,
    ...(env.UNSUBSCRIBE_URL ? { unsubscribeUrl: env.UNSUBSCRIBE_URL } : {}),
  };
}

/** An SMTP URL with its password replaced, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    if (u.username) u.username = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}
