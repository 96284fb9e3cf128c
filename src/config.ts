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
 * HMAC keys shorter than the hash's 32 bytes weaken it, and a short secret can simply be
 * guessed offline from any one unsubscribe link; 32 characters is what `openssl rand -hex 32`
 * gives half of, so it is an easy bar to clear with a random value.
 */
export const MIN_UNSUBSCRIBE_SECRET_LENGTH = 32;

/**
 * Real mail (SMTP_URL) needs a secret of its own: with the public default anyone could mint a
 * valid one-click unsubscribe link for any address. Commands that send call this at start-up.
 */
export function requireUnsubscribeSecret(env: NodeJS.ProcessEnv = process.env): void {
  if (!env.SMTP_URL) return;
  const secret = env.UNSUBSCRIBE_SECRET;
  const how = "set UNSUBSCRIBE_SECRET to a long random value (e.g. openssl rand -hex 32)";
  if (!secret || secret === DEV_UNSUBSCRIBE_SECRET)
    throw new ConfigError(
      `UNSUBSCRIBE_SECRET is ${secret ? "the public development secret" : "not set"}, and SMTP_URL is: unsubscribe links in real mail would be forgeable; ${how}`,
    );
  if (secret.length < MIN_UNSUBSCRIBE_SECRET_LENGTH)
    throw new ConfigError(
      `UNSUBSCRIBE_SECRET has ${secret.length} character${secret.length === 1 ? "" : "s"}; with SMTP_URL set it needs at least ${MIN_UNSUBSCRIBE_SECRET_LENGTH} characters: a short secret can be guessed from one unsubscribe link, and then anyone can unsubscribe any address; ${how}`,
    );
}

const SMTP_EXAMPLE = "smtp://user:password@relay.example.org:587";

/**
 * SMTP_URL is checked when it is read, so a typo stops every command at once with the variable
 * named, instead of each send failing with "Invalid URL" while the worker keeps running. The
 * value holds the password: messages show it redacted, or not at all when it does not parse.
 */
function smtpUrlOf(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.SMTP_URL;
  if (!raw) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(
      `SMTP_URL is not a URL (like ${SMTP_EXAMPLE}); its value is not shown because it may hold a password`,
    );
  }
  if (u.protocol !== "smtp:" && u.protocol !== "smtps:")
    throw new ConfigError(
      `SMTP_URL must start with smtp:// or smtps:// (like ${SMTP_EXAMPLE}), not ${redactUrl(raw)}`,
    );
  if (!u.hostname)
    throw new ConfigError(`SMTP_URL names no host (like ${SMTP_EXAMPLE}): ${redactUrl(raw)}`);
  return raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const rate = Number(env.SEND_RATE ?? 0);
  const smtpUrl = smtpUrlOf(env);
  return {
    redisUrl: env.REDIS_URL || "redis://127.0.0.1:6379",
    prefix: env.CONVENE_PREFIX || "convene",
    ...(smtpUrl ? { smtpUrl } : {}),
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
