import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { Problem } from "./problems.js";

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
    this.doc = parseDocument(text, {
      lineCounter: this.lines,
      prettyErrors: false,
      uniqueKeys: true,
    });
    for (const e of [...this.doc.errors, ...this.doc.warnings]) {
      const pos = this.lines.linePos(e.pos[0]);
      this.problems.push({ file, line: pos.line, col: pos.col, message: firstLine(e.message) });
    }
    this.value = this.doc.errors.length ? undefined : this.doc.toJS({ maxAliasCount: 100 });
  }

  /**
   * Where a value is. For a missing key we fall back to the nearest existing parent, and when
   * `key` is true we point at the key of the pair rather than its value (unknown keys).
   */
  locate(path: readonly PathKey[], opts: { key?: boolean } = {}): { line: number; col: number } {
    let node: unknown = this.doc.contents;
    let best: Node | null = (this.doc.contents as Node | null) ?? null;
    for (const [i, raw] of path.entries()) {
      const k = typeof raw === "symbol" ? String(raw) : raw;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(k),
        );
        if (!pair) break;
        if (last && opts.key && isScalar(pair.key)) {
          best = pair.key;
          break;
        }
        node = pair.value;
        if (node) best = node as Node;
        else if (isScalar(pair.key)) best = pair.key;
      } else if (isSeq(node) && typeof k === "number") {
        node = node.items[k];
        if (!node) break;
        best = node as Node;
      } else break;
    }
    const offset = best?.range?.[0] ?? 0;
    return this.lines.linePos(offset);
  }

  problemAt(path: readonly PathKey[], message: string, opts: { key?: boolean } = {}): Problem {
    const { line, col } = this.locate(path, opts);
    return { file: this.file, line, col, message };
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}
