/**
 * Event definitions as the worker sees them: reloaded when their files change, cached otherwise.
 * A processor looks its event up for every job, and parsing a CSV of thousands of recipients per
 * message would dominate the send time; a stat of the event's few files is cheap.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { loadEvent } from "../model/load.js";
import type { Problem } from "../model/problems.js";
import type { EventDefinition, Recipient } from "../model/types.js";

export interface LoadedEvent {
  def: EventDefinition;
  /** audience → lowercased e-mail → recipient. */
  byEmail: Map<string, Map<string, Recipient>>;
}

interface Entry {
  signature: string;
  checkedAt: number;
  loaded?: LoadedEvent;
  problems: Problem[];
}

/** mtimes and sizes of every file in the event directory tree (they are few and small). */
function signature(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string, depth: number) => {
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
          if (depth < 3) walk(p, depth + 1);
        } else parts.push(`${n}:${st.mtimeMs}:${st.size}`);
      } catch {
        // a file removed while we look: the next look will see the new state
      }
    }
  };
  walk(dir, 0);
  return parts.join("|");
}

export class DefinitionCache {
  private readonly entries = new Map<string, Entry>();
  /** event id → directory, learnt from every load. */
  private readonly dirs = new Map<string, string>();

  /** @param minCheckMs how long a definition is trusted before its files are stat'ed again. */
  constructor(private readonly minCheckMs = 1_000) {}

  load(
    dir: string,
    force = false,
  ): { loaded?: LoadedEvent; problems: Problem[]; changed: boolean } {
    const now = Date.now();
    const prev = this.entries.get(dir);
    if (prev && !force && now - prev.checkedAt < this.minCheckMs)
      return {
        ...(prev.loaded ? { loaded: prev.loaded } : {}),
        problems: prev.problems,
        changed: false,
      };
    const sig = signature(dir);
    if (prev && prev.signature === sig) {
      prev.checkedAt = now;
      return {
        ...(prev.loaded ? { loaded: prev.loaded } : {}),
        problems: prev.problems,
        changed: false,
      };
    }
    const r = loadEvent(dir);
    const entry: Entry = { signature: sig, checkedAt: now, problems: r.problems };
    if (r.definition) {
      const byEmail = new Map<string, Map<string, Recipient>>();
      for (const [aud, rs] of Object.entries(r.definition.audiences))
        byEmail.set(aud, new Map(rs.map((x) => [x.email.toLowerCase(), x])));
      entry.loaded = { def: r.definition, byEmail };
      this.dirs.set(r.definition.event.id, dir);
    } else if (prev?.loaded) {
      // A broken edit must not stop a running campaign: keep the last good definition.
      entry.loaded = prev.loaded;
    }
    this.entries.set(dir, entry);
    return {
      ...(entry.loaded ? { loaded: entry.loaded } : {}),
      problems: r.problems,
      changed: true,
    };
  }

  dirOf(eventId: string): string | undefined {
    return this.dirs.get(eventId);
  }
}
