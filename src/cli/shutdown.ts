import type { Logger } from "../worker/logger.js";

/**
 * SIGTERM and SIGINT close what the long-running command holds, then exit 0 (1 if closing
 * failed). Bounded: if closing itself hangs (Redis unreachable), the process exits anyway after
 * `boundMs`. Shared by `convene worker` and `convene serve`.
 */
export function stopOnSignals(log: Logger, close: () => Promise<void>, boundMs: number): void {
  const stop = (signal: string) => {
    log.info({ signal }, "shutting down");
    setTimeout(() => {
      log.error("shutdown took too long; exiting");
      process.exit(1);
    }, boundMs).unref();
    close().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (e: Error) => {
        log.error({ err: e.message }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}
