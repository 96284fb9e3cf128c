/**
 * The transport settings convene's worker uses (src/mail/transport.ts `withDefaults`): a pooled
 * connection set, nodemailer's default of 5 connections unless the URL says otherwise, and one
 * requeue for a dropped connection. The ceiling and the naive worker send with exactly these, so
 * the only difference between the three measurements is how each message is made.
 */
export function pooledUrl(smtpUrl: string): string {
  const u = new URL(smtpUrl);
  if (!u.searchParams.has("pool")) u.searchParams.set("pool", "true");
  if (!u.searchParams.has("maxRequeues")) u.searchParams.set("maxRequeues", "1");
  return u.toString();
}

/** Sends in flight per process: convene's default worker concurrency (CONVENE_CONCURRENCY). */
export const CONCURRENCY = 10;
