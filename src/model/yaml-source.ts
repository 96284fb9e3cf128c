import {
  type Document,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from "yaml";
import type { Problem } from "./problems.js";

/**
 * Definitions are a few kilobytes. A larger file is refused before parsing, because parse time
 * and memory grow with it and a worker re-reads its definitions every minute.
 */
export const MAX_YAML_BYTES = 1024 * 1024;

/** The deepest real definition nests about ten levels (days, sessions, tracks, speakers). */
export const MAX_YAML_DEPTH = 64;

/**
 * How many aliases a value may expand to. Anchors and aliases are legitimate YAML, but nested
 * ones multiply ("billion laughs"): nine levels of nine aliases are 387 million values.
 */
const MAX_ALIAS_COUNT = 100;

export type PathKey = string | number | symbol;

/**
 * A parsed YAML file that can say where any value sits. The `yaml` package keeps source ranges
 * on nodes; a LineCounter turns offsets into line/column, which is what lets schema errors point
 * at the exact key an organizer mistyped.
 */
export class YamlSource {
  readonly value: unknown;
  readonly problems: Problem[] = [];
  private readonly doc;
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    text: string,
  ) {
    const bytes = Buffer.byteLength(text, "utf8");
    const tooLarge = bytes > MAX_YAML_BYTES;
    // prettyErrors stays off: it builds a context excerpt per error, and on pathological input
    // (thousands of nested brackets) that alone exhausts memory.
    this.doc = parseDocument(tooLarge ? "" : text, {
      lineCounter: this.lines,
      prettyErrors: false,
      uniqueKeys: true,
    });
    if (tooLarge) {
      this.problem(0, `file is larger than the 1 MB limit (${bytes} bytes)`);
      this.value = undefined;
      return;
    }
    for (const e of [...this.doc.errors, ...this.doc.warnings])
      this.problem(e.pos[0], firstLine(e.message));
    this.value = this.doc.errors.length ? undefined : this.toValue();
  }

  private problem(offset: number, message: string): void {
    const pos = this.lines.linePos(offset);
    this.problems.push({ file: this.file, line: pos.line, col: pos.col, message });
  }

  /**
   * The plain value, or undefined with a located problem. `toJS` throws on an alias bomb, and a
   * throw here would escape the loader and defeat "keep the last good version".
   */
  private toValue(): unknown {
    const deep = tooDeep(this.doc);
    if (deep) {
      this.problem(
        deep.range?.[0] ?? 0,
        `nested more than ${MAX_YAML_DEPTH} levels deep; no definition needs that many`,
      );
      return undefined;
    }
    try {
      return this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      this.problem(
        firstAlias(this.doc)?.range?.[0] ?? 0,
        `YAML aliases expand too much (${firstLine((e as Error).message)}); write the values out instead of nesting aliases`,
      );
      return undefined;
    }
  }

  /**
   * Where a value is. For a missing key we fall back to the nearest existing parent, and when
   * `key` is true we point at the key of the pair rather than its value (unknown keys).
   */
  locate(path: readonly PathKey[], opts: { key?: boolean } = {}): { line: number; col: number } {
    let at: Step = { node: this.doc.contents, best: (this.doc.contents as Node | null) ?? null };
    for (const [i, raw] of path.entries()) {
      const k = typeof raw === "symbol" ? String(raw) : raw;
      at = stepInto(at, k, Boolean(opts.key) && i === path.length - 1);
      if (at.done) break;
    }
    const offset = at.best?.range?.[0] ?? 0;
    return this.lines.linePos(offset);
  }

  problemAt(path: readonly PathKey[], message: string, opts: { key?: boolean } = {}): Problem {
    const { line, col } = this.locate(path, opts);
    return { file: this.file, line, col, message };
  }
}

/**
 * Where a walk down a path has got to: the node at the path so far, the nearest node that has
 * a source range (what `locate` reports), and whether the walk can go no further.
 */
interface Step {
  node: unknown;
  best: Node | null;
  done?: boolean;
}

/** One key further down; a missing key or a scalar in the way ends the walk where it is. */
function stepInto(at: Step, k: string | number, wantKey: boolean): Step {
  const { node, best } = at;
  if (isMap(node)) {
    const pair = node.items.find(
      (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(k),
    );
    if (!pair) return { node, best, done: true };
    if (wantKey && isScalar(pair.key)) return { node, best: pair.key, done: true };
    // `key:` with nothing after it has no value node; its key is the closest place to point.
    const value = pair.value as Node | null;
    return { node: value, best: value ?? (isScalar(pair.key) ? pair.key : best) };
  }
  if (isSeq(node) && typeof k === "number") {
    const item = node.items[k] as Node | undefined;
    return item ? { node: item, best: item } : { node: item, best, done: true };
  }
  return { node, best, done: true };
}

/** The first collection nested deeper than MAX_YAML_DEPTH, found without recursion. */
function tooDeep(doc: Document): Node | undefined {
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 1 }];
  while (stack.length) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (!isCollection(node)) continue;
    if (depth > MAX_YAML_DEPTH) return node;
    for (const item of node.items) {
      if (isPair(item)) {
        stack.push({ node: item.key, depth: depth + 1 }, { node: item.value, depth: depth + 1 });
      } else stack.push({ node: item, depth: depth + 1 });
    }
  }
  return undefined;
}

function firstAlias(doc: Document): Node | undefined {
  let found: Node | undefined;
  visit(doc, {
    Alias(_key, node) {
      found = node;
      return visit.BREAK;
    },
  });
  return found;
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}
