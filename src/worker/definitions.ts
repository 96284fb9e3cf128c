/**
 * Event definitions as the worker sees them: reloaded when their files change, cached otherwise.
 * A processor looks its event up for every job, and parsing a CSV of thousands of recipients per
 * message would dominate the send time; a stat of the event's few files is cheap.
 *
 * Organizers edit these files while the worker runs, and many editors save in place: truncate,
 * then write. A CSV caught half-written still parses (just with fewer rows), so validation alone
 * cannot tell it from a real removal. A reload is therefore atomic from the worker's side:
 *  - Files changed less than `settleMs` ago are still being written: the previous good
 *    definition stays in use until they settle (with none yet, the caller waits).
 *  - The files' signature (paths, mtimes, sizes) is taken before and after reading; if it
 *    changed in between, the read is thrown away and done again (a few times at most).
 *  - Only a definition that validated replaces the previous one.
 * loadEvent reads each file once and parses that text, so a definition is never assembled from
 * a stat of one version and the content of another.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { KindRegistry } from "../kind.js";
import { audienceIndex } from "../model/audience.js";
import { loadEvent } from "../model/load.js";
import type { Problem } from "../model/problems.js";
import type { EventDefinition, Recipient } from "../model/types.js";

export interface LoadedEvent {
  def: EventDefinition;
  /** audience → lowercased e-mail → recipient. */
  byEmail: Map<string, Map<string, Recipient>>;
}

export interface LoadOutcome {
  loaded?: LoadedEvent;
  problems: Problem[];
  changed: boolean;
  /** The files are still being written and there is no earlier definition: look again then. */
  settlingMs?: number;
}

interface Entry {
  signature: string;
  checkedAt: number;
  loaded?: LoadedEvent;
  problems: Problem[];
}

interface Snapshot {
  signature: string;
  /** The newest mtime of any file (epoch ms). */
  newest: number;
}

/** How often a read is redone because the files changed while it ran. */
const MAX_READS = 3;
/** How often loadSettled waits for files to settle before it gives up for now. */
const MAX_WAITS = 5;

/** mtimes and sizes of every file in the event directory tree (they are few and small). */
function snapshot(dir: string): Snapshot {
  const parts: string[] = [];
  let newest = 0;
  const walk = (d: string, rel: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      try {
        const st = statSync(p);
        if (st.isDirectory()) {
          if (depth < 3) walk(p, `${rel}${n}/`, depth + 1);
          continue;
        }
        parts.push(`${rel}${n}:${st.mtimeMs}:${st.size}`);
        newest = Math.max(newest, st.mtimeMs);
      } catch {
        // a file removed while we look: the next look will see the new state
      }
    }
  };
  walk(dir, "", 0);
  return { signature: parts.join("|"), newest };
}

function indexed(def: EventDefinition): LoadedEvent {
  const byEmail = new Map<string, Map<string, Recipient>>();
  for (const [aud, rs] of Object.entries(def.audiences)) byEmail.set(aud, audienceIndex(rs));
  return { def, byEmail };
}

export class DefinitionCache {
  private readonly entries = new Map<string, Entry>();
  /** event id → directory, learnt from every load. */
  private readonly dirs = new Map<string, string>();
  /** dir → a signature not yet trusted and when it was first seen (mtimes can be skewed). */
  private readonly seen = new Map<string, { signature: string; at: number }>();
  private readonly minCheckMs: number;
  private readonly settleMs: number;
  private readonly kinds: KindRegistry;

  /**
   * @param o.minCheckMs how long a definition is trusted before its files are stat'ed again.
   * @param o.settleMs how long a changed file must stay unchanged before it is read.
   */
  constructor(o: { kinds: KindRegistry; minCheckMs?: number; settleMs?: number }) {
    this.kinds = o.kinds;
    this.minCheckMs = o.minCheckMs ?? 1_000;
    this.settleMs = o.settleMs ?? 1_000;
  }

  load(dir: string, force = false): LoadOutcome {
    const now = Date.now();
    const prev = this.entries.get(dir);
    if (prev && !force && now - prev.checkedAt < this.minCheckMs) return this.kept(prev);
    let before = snapshot(dir);
    if (prev && prev.signature === before.signature) {
      prev.checkedAt = now;
      return this.kept(prev);
    }
    for (let read = 0; read < MAX_READS; read++) {
      const wait = this.unsettledFor(dir, before, Date.now());
      if (wait > 0) return this.kept(prev, wait);
      const r = loadEvent(dir, this.kinds);
      const after = snapshot(dir);
      if (after.signature === before.signature) return this.accept(dir, before, r, prev);
      before = after;
    }
    return this.kept(prev, this.settleMs || 50);
  }

  /**
   * A start-up check: every problem of the event as its files are now, settled or not. The
   * definition read is kept as this cache's first version when no file changed while it was
   * read and all have settled, so the first tick does not read (and parse) them a second time:
   * at 100,000 recipients that was 2 s of the tick.
   */
  check(dir: string): Problem[] {
    const before = snapshot(dir);
    const r = loadEvent(dir, this.kinds);
    const settled = this.unsettledFor(dir, before, Date.now()) === 0;
    if (r.definition && settled && snapshot(dir).signature === before.signature)
      this.accept(dir, before, r, this.entries.get(dir));
    return r.problems;
  }

  /** load(), but waits (a few times, briefly) for files being written when nothing is cached. */
  async loadSettled(dir: string, force = false): Promise<LoadOutcome> {
    let r = this.load(dir, force);
    for (let i = 0; i < MAX_WAITS && !r.loaded && r.settlingMs !== undefined; i++) {
      await new Promise((done) => setTimeout(done, r.settlingMs));
      r = this.load(dir, true);
    }
    return r;
  }

  dirOf(eventId: string): string | undefined {
    return this.dirs.get(eventId);
  }

  /**
   * How long until a snapshot may be trusted: 0 once its newest file is `settleMs` old, or the
   * same signature has been seen for `settleMs` (a file with an mtime in the future, from a
   * skewed clock, would otherwise never settle).
   */
  private unsettledFor(dir: string, s: Snapshot, now: number): number {
    if (this.settleMs <= 0) return 0;
    const byMtime = s.newest + this.settleMs - now;
    if (byMtime <= 0) return 0;
    const seen = this.seen.get(dir);
    if (!seen || seen.signature !== s.signature) {
      this.seen.set(dir, { signature: s.signature, at: now });
      return Math.min(byMtime, this.settleMs);
    }
    return Math.max(0, Math.min(byMtime, seen.at + this.settleMs - now));
  }

  /** The previous state, unchanged; no signature is recorded, so the next load looks again. */
  private kept(prev: Entry | undefined, settlingMs?: number): LoadOutcome {
    return {
      ...(prev?.loaded ? { loaded: prev.loaded } : {}),
      problems: prev?.problems ?? [],
      changed: false,
      ...(settlingMs !== undefined && !prev?.loaded ? { settlingMs } : {}),
    };
  }

  private accept(
    dir: string,
    s: Snapshot,
    r: ReturnType<typeof loadEvent>,
    prev: Entry | undefined,
  ): LoadOutcome {
    const entry: Entry = { signature: s.signature, checkedAt: Date.now(), problems: r.problems };
    if (r.definition) {
      entry.loaded = indexed(r.definition);
      this.dirs.set(r.definition.event.id, dir);
    } else if (prev?.loaded) {
      // A broken edit must not stop a running campaign: keep the last good definition.
      entry.loaded = prev.loaded;
    }
    this.entries.set(dir, entry);
    this.seen.delete(dir);
    return {
      ...(entry.loaded ? { loaded: entry.loaded } : {}),
      problems: r.problems,
      changed: true,
    };
  }
}
