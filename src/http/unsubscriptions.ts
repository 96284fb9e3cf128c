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
  /** Until when an undo is accepted; absent when there is nothing this link may undo. */
  undoUntil?: Date;
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

  const undoUntil = (s: Suppression): Date | undefined => {
    if (s.reason !== ONE_CLICK_REASON) return undefined;
    const until = new Date(Date.parse(s.at) + windowMs);
    return until > now() ? until : undefined;
  };
  const stateOf = (s: Suppression | undefined): UnsubscribeState => {
    const until = s && undoUntil(s);
    return { suppressed: s !== undefined, ...(until ? { undoUntil: until } : {}) };
  };

  return {
    state: async (address) => stateOf(await store.get(address)),
    async unsubscribe(address) {
      const changed = await store.addIfAbsent(address, ONE_CLICK_REASON, now());
      return { ...stateOf(await store.get(address)), changed };
    },
    async undo(address) {
      const s = await store.get(address);
      if (!s || !undoUntil(s)) return false;
      return store.removeIfUnchanged(s);
    },
  };
}
