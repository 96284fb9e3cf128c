/**
 * What a click on an unsubscribe link does to the suppression list. A click never overwrites a
 * suppression already there (a bounce keeps its reason), and its undo lifts only the suppression
 * that click made, within a few minutes: the link stays valid forever, so a later "undo" from
 * an old page, or from someone who has the link, must not re-open an address.
 */
import type { Suppression, SuppressionStore } from "../store/suppressions.js";

/** The reason recorded for a one-click unsubscribe (shown in status --failures and logs). */
export const ONE_CLICK_REASON = "unsubscribed with the one-click link";

export const UNDO_WINDOW_MS = 10 * 60_000;

export interface UnsubscribeState {
  suppressed: boolean;
  /** How long an undo is still accepted, ms; absent when there is nothing this link may undo. */
  undoLeftMs?: number;
}

/** The interface the routes use; the store behind it is the only part that touches Redis. */
export interface Unsubscriptions {
  state(address: string): Promise<UnsubscribeState>;
  /** Idempotent: a replayed click finds the address suppressed and changes nothing. */
  unsubscribe(address: string): Promise<UnsubscribeState & { changed: boolean }>;
  /** Returns whether the address is subscribed again. */
  undo(address: string): Promise<boolean>;
}

export function unsubscriptions(
  store: SuppressionStore,
  o: { now?: () => Date; undoWindowMs?: number } = {},
): Unsubscriptions {
  const now = o.now ?? (() => new Date());
  const windowMs = o.undoWindowMs ?? UNDO_WINDOW_MS;

  const undoLeftMs = (s: Suppression): number | undefined => {
    if (s.reason !== ONE_CLICK_REASON) return undefined;
    const left = Date.parse(s.at) + windowMs - now().getTime();
    return left > 0 ? left : undefined;
  };
  const stateOf = (s: Suppression | undefined): UnsubscribeState => {
    const left = s && undoLeftMs(s);
    return { suppressed: s !== undefined, ...(left ? { undoLeftMs: left } : {}) };
  };

  return {
    state: async (address) => stateOf(await store.get(address)),
    async unsubscribe(address) {
      const changed = await store.addIfAbsent(address, ONE_CLICK_REASON, now());
      return { ...stateOf(await store.get(address)), changed };
    },
    async undo(address) {
      const s = await store.get(address);
      if (!s || !undoLeftMs(s)) return false;
      return store.removeIfUnchanged(s);
    },
  };
}
