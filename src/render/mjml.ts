/**
 * MJML compilation with a content-addressed cache. Compiling MJML costs milliseconds (parsing,
 * validation, CSS inlining), so it happens once per template source, never per recipient: the
 * compiled HTML still holds its Handlebars placeholders and is filled per recipient afterwards.
 * The cache key is the source text plus every included partial, so editing a template while a
 * worker runs takes effect on the next message without a restart.
 *
 * MJML itself (0.8 s to import) is loaded on the first compile, not with this module: the kind
 * registry reaches this file through compose, and `convene plan` loads the registry but never
 * compiles a template.
 */
import { createHash } from "node:crypto";

/** A template that MJML or Handlebars refused, located in its file. */
export class TemplateError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = "TemplateError";
  }
}

let compilations = 0;
const cache = new Map<string, Promise<string>>();

/** How many times MJML actually ran in this process; tests count it instead of timing. */
export function mjmlCompilations(): number {
  return compilations;
}

/** Forgets compiled templates (for benchmarks that measure the uncached path). */
export function clearMjmlCache(): void {
  cache.clear();
}

export function contentKey(parts: readonly string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(String(p.length)).update(":").update(p);
  return h.digest("hex");
}

/**
 * MJML may percent-encode `{{ }}` inside URL attributes (mj-image src, some hrefs), which would
 * turn a placeholder into literal text; undo that so Handlebars sees it.
 */
export function restorePlaceholders(html: string): string {
  return html.replace(/%7B%7B(.*?)%7D%7D/gi, (_m, inner: string) => {
    try {
      return `{{${decodeURIComponent(inner)}}}`;
    } catch {
      return `{{${inner}}}`;
    }
  });
}

/**
 * Compiles MJML to HTML in strict validation mode: an unknown element or attribute is an error
 * that names the template file and line, found by `convene validate` rather than at send time.
 */
export function compileMjml(
  source: string,
  o: { file: string; key: string; label?: string; includePath?: string[] },
): Promise<string> {
  const hit = cache.get(o.key);
  if (hit) return hit;
  const run = (async () => {
    compilations++;
    // Outside the try: a missing mjml package is not a mistake in the organizer's template.
    const { default: mjml2html } = await import("mjml");
    try {
      const out = await mjml2html(source, {
        filePath: o.file,
        validationLevel: "strict",
        keepComments: false,
        // mjml 5 ignores mj-include unless told otherwise; the shared layout lives in partials.
        ignoreIncludes: false,
        ...(o.includePath ? { includePath: o.includePath } : {}),
      });
      return restorePlaceholders(out.html);
    } catch (e) {
      const errors = (e as { errors?: { line?: number; message?: string; tagName?: string }[] })
        .errors;
      const first = errors?.[0];
      if (first)
        throw new TemplateError(
          o.label ?? o.file,
          first.line ?? 1,
          errors
            .map((x) => `${x.line ? `line ${x.line}: ` : ""}${x.message ?? "invalid MJML"}`)
            .join("; "),
        );
      throw new TemplateError(o.label ?? o.file, 1, `MJML: ${(e as Error).message}`);
    }
  })();
  cache.set(o.key, run);
  // A failed compile is not cached: the organizer fixes the file and tries again.
  run.catch(() => cache.delete(o.key));
  return run;
}
