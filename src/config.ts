/**
 * Runtime settings from the environment, read in one place. Defaults are what a newcomer needs:
 * the local Redis and an outbox folder instead of SMTP.
 */
import { z } from "zod";
import { clusterPrefixProblem } from "./store/keys.js";
import { isClusterUrl } from "./store/redis-url.js";

/**
 * A millisecond count or similar: a value that is not a number ≥ 0 (or is empty) falls back to
 * the default instead of stopping the worker, as these tunables always have.
 */
export const lenientNumber = (dflt: number) =>
  z.preprocess((v) => (v === "" ? undefined : v), z.coerce.number().nonnegative()).catch(dflt);

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
  /**
   * `UNSUBSCRIBE_URL`: base of the https unsubscribe link, e.g. https://lists.example.org/unsubscribe.
   * Unset, it is `<publicUrl>/unsubscribe` when a public URL is known.
   */
  unsubscribeUrl?: string;
  /** `CONVENE_PUBLIC_URL` (or `--public-url`): where the public reaches `convene serve`, no trailing slash. */
  publicUrl?: string;
  /**
   * `BOUNCE_ADDRESS` (bounces@domain): the envelope sender becomes `bounces+<send id>.<tag>@domain`
   * (VERP), so a bounce names its send. Unset: the envelope sender is the From address.
   */
  bounceAddress?: string;
  /** `IMAP_URL` (imaps://user:pass@host/INBOX): the mailbox `convene inbound` reads. */
  imapUrl?: string;
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
function smtpUrlProblem(raw: string): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `SMTP_URL is not a URL (like ${SMTP_EXAMPLE}); its value is not shown because it may hold a password`;
  }
  if (u.protocol !== "smtp:" && u.protocol !== "smtps:")
    return `SMTP_URL must start with smtp:// or smtps:// (like ${SMTP_EXAMPLE}), not ${redactUrl(raw)}`;
  if (!u.hostname) return `SMTP_URL names no host (like ${SMTP_EXAMPLE}): ${redactUrl(raw)}`;
  return undefined;
}

/** An unset variable and an empty one both mean "use the default", as in a compose file's `X=`. */
const orDefault = (dflt: string) =>
  z
    .string()
    .optional()
    .transform((v) => v || dflt);

const setOrUnset = z
  .string()
  .optional()
  .transform((v) => v || undefined);

const envSchema = z.object({
  REDIS_URL: orDefault("redis://127.0.0.1:6379"),
  CONVENE_PREFIX: orDefault("convene"),
  SMTP_URL: setOrUnset.superRefine((v, ctx) => {
    const problem = v === undefined ? undefined : smtpUrlProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  OUTBOX_DIR: orDefault("outbox"),
  // Not a number, or not above 0, means unlimited, as documented for SEND_RATE=0.
  SEND_RATE: z.coerce
    .number()
    .catch(0)
    .transform((n) => Math.max(n, 0)),
  UNSUBSCRIBE_SECRET: orDefault(DEV_UNSUBSCRIBE_SECRET),
  UNSUBSCRIBE_URL: setOrUnset,
  CONVENE_PUBLIC_URL: setOrUnset,
  BOUNCE_ADDRESS: setOrUnset.superRefine((v, ctx) => {
    if (v !== undefined && !/^[^@\s+]+@[^@\s]+\.[^@\s]+$/.test(v))
      ctx.addIssue({
        code: "custom",
        message: `BOUNCE_ADDRESS must be a plain address like bounces@example.org (no "+"), not ${JSON.stringify(v)}`,
      });
  }),
  IMAP_URL: setOrUnset,
});

/**
 * The public base URL, normalized (no trailing slash). `from` names where it came from in the
 * error, which is the organizer's to fix.
 */
export function normalizePublicUrl(value: string, from = "CONVENE_PUBLIC_URL"): string {
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== "https:" && u.protocol !== "http:"))
    throw new ConfigError(
      `${from} must be the https:// (or http://) address the public reaches convene serve at, like https://lists.example.org`,
    );
  const extra = publicUrlExtra(u);
  if (extra) throw new ConfigError(`${from} must not carry ${extra}: ${PUBLIC_URL_EXTRA_WHY}`);
  return u.href.replace(/\/+$/, "");
}

export const PUBLIC_URL_EXTRA_WHY =
  "the unsubscribe link is <public URL>/unsubscribe?token=…, which a query or #fragment would break and a user:password would put in every message";

/**
 * What a public URL has that `<public URL>/unsubscribe?token=…` cannot be built on: a query
 * (`/unsubscribe` would land in it), a #fragment (the token would), or credentials (they would
 * be in every message sent).
 */
export function publicUrlExtra(u: URL): string | undefined {
  if (u.username || u.password) return "a user name or password";
  if (u.search) return "a query (?…)";
  if (u.hash) return "a #fragment";
  return undefined;
}

/** UNSUBSCRIBE_URL as set, else `<public URL>/unsubscribe` (what convene serve answers). */
function unsubscribeUrlOf(explicit: string | undefined, publicUrl: string | undefined) {
  if (explicit) return explicit;
  return publicUrl ? `${publicUrl}/unsubscribe` : undefined;
}

/** A REDIS_URL that does not parse is reported when a command connects, not by commands that never do. */
function namesCluster(url: string, env: NodeJS.ProcessEnv): boolean {
  try {
    return isClusterUrl(url, env);
  } catch {
    return false;
  }
}

/** `o.publicUrl`: a `--public-url` flag, which wins over CONVENE_PUBLIC_URL. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  o: { publicUrl?: string } = {},
): Config {
  const r = envSchema.safeParse(env);
  // Only SMTP_URL and BOUNCE_ADDRESS can fail; their message is written for the organizer, so it is shown as is.
  if (!r.success) throw new ConfigError(r.error.issues[0]?.message ?? "bad environment");
  const e = r.data;
  const prefixProblem = namesCluster(e.REDIS_URL, env)
    ? clusterPrefixProblem(e.CONVENE_PREFIX)
    : undefined;
  if (prefixProblem) throw new ConfigError(prefixProblem);
  const publicUrl =
    o.publicUrl ?? (e.CONVENE_PUBLIC_URL ? normalizePublicUrl(e.CONVENE_PUBLIC_URL) : undefined);
  const unsubscribeUrl = unsubscribeUrlOf(e.UNSUBSCRIBE_URL, publicUrl);
  return {
    redisUrl: e.REDIS_URL,
    prefix: e.CONVENE_PREFIX,
    ...(e.SMTP_URL ? { smtpUrl: e.SMTP_URL } : {}),
    outboxDir: e.OUTBOX_DIR,
    sendRate: e.SEND_RATE,
    unsubscribeSecret: e.UNSUBSCRIBE_SECRET,
    ...(unsubscribeUrl ? { unsubscribeUrl } : {}),
    ...(publicUrl ? { publicUrl } : {}),
    ...(e.BOUNCE_ADDRESS ? { bounceAddress: e.BOUNCE_ADDRESS } : {}),
    ...(e.IMAP_URL ? { imapUrl: e.IMAP_URL } : {}),
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
    // redis+cluster://user:pass@h1:p1,h2:p2 is no WHATWG URL (a host list); hide its credentials.
    if (/^rediss?\+cluster:\/\//i.test(url)) return url.replace(/\/\/[^@/]*@/, "//***:***@");
    return "(unparseable URL)";
  }
}
