/**
 * Templates: `templates/<name>.mjml`, MJML with Handlebars placeholders, looked up in the event's
 * own `templates/` first and then in convene's (src/model/paths.ts). A template is compiled in
 * two stages: MJML to HTML once per content (src/render/mjml.ts), then the HTML and its text
 * conversion to Handlebars functions, also once; filling them per recipient is cheap.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import {
  findTemplate,
  type Inside,
  MAX_TEMPLATE_BYTES,
  packageRoot,
  resolveInside,
  templateCandidates,
} from "../model/paths.js";
import { hb } from "./handlebars.js";
import { clearMjmlCache, compileMjml, contentKey, TemplateError } from "./mjml.js";
import { htmlToTemplateText, tidyText } from "./text.js";

export interface CompiledTemplate {
  name: string;
  file: string;
  key: string;
  fill(view: object): { html: string; text: string };
}

const compiled = new Map<string, Promise<CompiledTemplate>>();

function display(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith("..") ? r : p;
}

const INCLUDE_RE = /<mj-include\s+[^>]*?path\s*=\s*"([^"]+)"/g;

/**
 * The template file and every partial it includes (recursively), as MJML will read them. Read
 * here only to build the cache key and to check Handlebars syntax per file, so an error names
 * the partial it is in.
 */
function readSources(
  file: string,
  roots: readonly string[],
  seen = new Set<string>(),
): { file: string; text: string }[] {
  if (seen.has(file)) return [];
  seen.add(file);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new TemplateError(display(file), 1, "template file not found");
  }
  const out = [{ file, text }];
  for (const m of text.matchAll(INCLUDE_RE)) {
    const line = text.slice(0, m.index).split("\n").length;
    // MJML refuses absolute include paths (and paths outside the template's folder and
    // convene's templates/) by leaving the include out silently; say so instead.
    if (isAbsolute(m[1] as string))
      throw new TemplateError(display(file), line, `mj-include path ${m[1]} must be relative`);
    const inc = includedFile(file, m[1] as string, roots);
    if (!inc.ok) throw new TemplateError(display(file), line, `mj-include ${m[1]} ${inc.reason}`);
    out.push(...readSources(inc.path, roots, seen));
  }
  return out;
}

/**
 * Where an include points, checked before it is read: beside the including template, else in
 * convene's own templates/ (the includePath passed to MJML), so an event's template can share
 * the partials; and only inside the event folder or convene's templates/, as for every file a
 * definition names (src/model/paths.ts). Reading it would be enough to leak it, since a
 * Handlebars error quotes the text.
 */
function includedFile(from: string, written: string, roots: readonly string[]): Inside {
  const abs = [dirname(from), join(packageRoot(), "templates")]
    .map((base) => resolve(base, written))
    .flatMap((p) => (p.endsWith(".mjml") ? [p] : [p, `${p}.mjml`]))
    .find((p) => existsSync(p));
  if (!abs) return { ok: false, reason: "not found" };
  const tried = roots.map((root) => resolveInside(root, relative(root, abs), MAX_TEMPLATE_BYTES));
  const inside = tried.find((r) => r.ok);
  if (inside) return inside;
  const why = tried.find((r) => !r.ok && !/stay inside/.test(r.reason));
  return why ?? { ok: false, reason: "points outside the event folder and convene's templates/" };
}

/** Folders a template's includes may come from: convene's templates/, and the event's own. */
function includeRoots(eventDir?: string): string[] {
  return [join(packageRoot(), "templates"), ...(eventDir ? [eventDir] : [])];
}

/**
 * MJML resolves an include beside the including file only (its includePath merely allows more
 * roots), so an event template's `./partials/head.mjml` that exists only in convene's
 * templates/ is rewritten to the relative path of convene's copy before compiling.
 */
function withSharedIncludes(file: string, text: string, roots: readonly string[]): string {
  return text.replace(INCLUDE_RE, (m: string, path: string) => {
    const inc = includedFile(file, path, roots);
    if (!inc.ok || existsSync(resolve(dirname(file), path))) return m;
    return m.replace(path, relative(dirname(file), inc.path));
  });
}

function checkHandlebars(file: string, text: string): void {
  try {
    hb.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const line = Number(/line (\d+)/i.exec(msg)?.[1] ?? 1);
    throw new TemplateError(display(file), line, `Handlebars: ${msg.split("\n")[0]}`);
  }
}

const PLACEHOLDER_RE = /\{\{[^{}]*\}\}/g;

/**
 * MJML silently drops text that sits between its elements, so `{{#each}}` around an
 * `<mj-section>` would vanish and the block's placeholders would read the wrong context. Every
 * placeholder of the sources must therefore survive compilation; one that does not is reported
 * where it was written, with the fix.
 */
function checkPlaceholdersKept(sources: { file: string; text: string }[], html: string): void {
  const inHtml = new Map<string, number>();
  for (const m of html.matchAll(PLACEHOLDER_RE)) inHtml.set(m[0], (inHtml.get(m[0]) ?? 0) + 1);
  const inSource = new Map<string, { n: number; file: string; line: number }>();
  for (const s of sources) {
    for (const m of s.text.matchAll(PLACEHOLDER_RE)) {
      const seen = inSource.get(m[0]);
      if (seen) seen.n++;
      else
        inSource.set(m[0], {
          n: 1,
          file: s.file,
          line: s.text.slice(0, m.index).split("\n").length,
        });
    }
  }
  for (const [token, at] of inSource) {
    if ((inHtml.get(token) ?? 0) < at.n)
      throw new TemplateError(
        display(at.file),
        at.line,
        `${token} was dropped by MJML: put Handlebars blocks that sit between MJML elements inside <mj-raw>…</mj-raw>`,
      );
  }
}

/** Forgets every compiled template, MJML included (benchmarks of the uncached path). */
export function clearTemplateCache(): void {
  compiled.clear();
  lastRead.clear();
  clearMjmlCache();
}

/** Compiles (or returns from cache) the template a step uses. */
export async function loadTemplate(eventDir: string, name: string): Promise<CompiledTemplate> {
  const found = findTemplate(eventDir, name);
  if (!found.ok)
    throw new TemplateError(
      display(templateCandidates(eventDir, name)[0] as string),
      1,
      found.reason,
    );
  return loadTemplateFile(found.path, name, eventDir);
}

/**
 * What each template file last read as, keyed by the top file: when no file's size or mtime has
 * changed, the sources are not read and hashed again for every message.
 */
const lastRead = new Map<string, { files: string[]; stamps: string; key: string }>();

function stampsOf(files: readonly string[]): string | undefined {
  try {
    return files
      .map((f) => {
        const st = statSync(f);
        return `${f}:${st.size}:${st.mtimeMs}`;
      })
      .join("|");
  } catch {
    return undefined;
  }
}

export async function loadTemplateFile(
  file: string,
  name: string,
  eventDir?: string,
): Promise<CompiledTemplate> {
  const prev = lastRead.get(file);
  if (prev) {
    const hit = compiled.get(prev.key);
    if (hit && stampsOf(prev.files) === prev.stamps) return hit;
  }
  const roots = includeRoots(eventDir);
  const sources = readSources(file, roots);
  const files = sources.map((s) => s.file);
  const stamps = stampsOf(files);
  const key = contentKey(sources.flatMap((s) => [s.file, s.text]));
  if (stamps) lastRead.set(file, { files, stamps, key });
  const hit = compiled.get(key);
  if (hit) return hit;
  const run = (async (): Promise<CompiledTemplate> => {
    for (const s of sources) checkHandlebars(s.file, s.text);
    const html = await compileMjml(withSharedIncludes(file, sources[0]?.text as string, roots), {
      file,
      label: display(file),
      key,
      // An event's own template may include convene's shared partials.
      includePath: [join(packageRoot(), "templates")],
    });
    checkPlaceholdersKept(sources, html);
    const textTemplate = htmlToTemplateText(html);
    let htmlFn: HandlebarsTemplateDelegate;
    let textFn: HandlebarsTemplateDelegate;
    try {
      htmlFn = hb.compile(html);
      textFn = hb.compile(textTemplate, { noEscape: true });
      // Handlebars compiles lazily; force it now so errors surface at validation time.
      htmlFn({});
      textFn({});
    } catch (e) {
      throw new TemplateError(display(file), 1, `Handlebars: ${(e as Error).message}`);
    }
    return {
      name,
      file,
      key,
      fill(view: object) {
        return { html: htmlFn(view), text: tidyText(textFn(view)) };
      },
    };
  })();
  compiled.set(key, run);
  run.catch(() => compiled.delete(key));
  return run;
}
