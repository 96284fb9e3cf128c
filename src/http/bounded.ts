/**
 * Every Redis read or write an HTTP request waits for, bounded. serve's connection retries
 * forever through a Redis outage (maxRetriesPerRequest: null, as BullMQ needs), so a command
 * sent while Redis is down or hung is queued, not failed: without a bound the request would
 * hang until Redis came back, and a shutdown would wait for it.
 */

/** Redis down: answer 503 (Gmail retries; the organizer reloads) rather than hold the request. */
export const STORE_TIMEOUT_MS = 5_000;

export function withinTimeout<T>(p: Promise<T>, ms = STORE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          Object.assign(new Error(`Redis did not answer within ${ms / 1000} s`), {
            statusCode: 503,
          }),
        ),
      ms,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * `target` with every method that returns a promise bounded by `ms` (a 503 after it); the
 * others are left as they are. For the console's data, whose every async method reads Redis.
 */
export function boundedMethods<T extends object>(target: T, ms = STORE_TIMEOUT_MS): T {
  return new Proxy(target, {
    get(t, key) {
      const v: unknown = Reflect.get(t, key);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        const r: unknown = v.apply(t, args);
        return r instanceof Promise ? withinTimeout(r, ms) : r;
      };
    },
  });
}
