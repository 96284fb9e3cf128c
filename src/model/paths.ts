import { existsSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

/**
 * The convene package's own folder (holding `templates/`). Found by walking up to package.json
 * because this file runs both from `src/` (tests, tsx) and from `dist/src/` (the built CLI).
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  root = dir;
  return dir;
}

/**
 * Largest attachment convene mails. Every recipient gets a copy, and most receiving servers
 * refuse messages above 10 to 25 MB once base64 has grown them by a third.
 */
export const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;

/** Event templates are read whole and compiled; a real one is a few kilobytes. */
export const MAX_TEMPLATE_BYTES = 1024 * 1024;

export type Inside = { ok: true; path: string } | { ok: false; reason: string };

function isWithin(base: string, p: string): boolean {
  const r = relative(base, p);
  return r === "" || (!r.startsWith(`..${sep}`) && r !== ".." && !isAbsolute(r));
}

function realpathOrUndefined(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

function megabytes(n: number): string {
  return `${Math.round(n / 1024 / 1024)} MB`;
}

/**
 * Resolves a path an organizer wrote in a definition to a regular file inside `base`, or says
 * why not. Files named in event folders end up in mail to every recipient, so a path that
 * leaves the folder (absolute, `..`, or a symlink pointing out) could mail any file the worker
 * can read, such as /proc/self/environ with the SMTP password. Both the written path and its
 * real path are checked: the first gives the clearer message, the second catches symlinks.
 */
export function resolveInside(base: string, written: string, maxBytes: number): Inside {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(written))
    return { ok: false, reason: "must not contain control characters" };
  if (isAbsolute(written))
    return { ok: false, reason: "must be a path inside the event folder, not an absolute path" };
  const lexical = resolve(base, written);
  if (!isWithin(resolve(base), lexical))
    return { ok: false, reason: "must stay inside the event folder (no `..` out of it)" };
  const realBase = realpathOrUndefined(base);
  const real = realpathOrUndefined(lexical);
  if (!realBase || !real) return { ok: false, reason: "not found" };
  if (!isWithin(realBase, real))
    return { ok: false, reason: "is a symbolic link to a file outside the event folder" };
  const st = statSync(real);
  if (!st.isFile()) return { ok: false, reason: "is not a regular file" };
  if (st.size > maxBytes)
    return {
      ok: false,
      reason: `is larger than the ${megabytes(maxBytes)} limit (${st.size} bytes)`,
    };
  return { ok: true, path: real };
}

/** An attachment of a step, checked; see resolveInside. */
export function resolveAttachment(eventDir: string, written: string): Inside {
  return resolveInside(eventDir, written, MAX_ATTACHMENT_BYTES);
}

/**
 * The file to attach, for compose: it re-checks rather than trusting the definition, because
 * the folder may have changed (a symlink swapped in) since the event was validated.
 */
export function attachmentPath(eventDir: string, written: string): string {
  const r = resolveAttachment(eventDir, written);
  if (!r.ok) throw new EventFolderChanged(`attachment ${written} ${r.reason}`);
  return r.path;
}

/**
 * A file the validated definition names is no longer usable (swapped for a symlink out,
 * removed, grown past the cap) — the folder is being edited. Not the send's fault: it waits for
 * the folder to be right again, rather than failing for good or mailing the wrong file.
 */
export class EventFolderChanged extends Error {
  override name = "EventFolderChanged";
}

/** Templates are looked up in the event's own `templates/` first, then in convene's. */
export function templateCandidates(eventDir: string, name: string): string[] {
  return [
    join(eventDir, "templates", `${name}.mjml`),
    join(packageRoot(), "templates", `${name}.mjml`),
  ];
}

export type TemplateLookup = { ok: true; path: string } | { ok: false; reason: string };

/**
 * The template a step uses. An event's own template that exists but is unusable (a symlink out
 * of the folder, a directory, too large) is an error rather than a silent fall back to
 * convene's, so the organizer learns why their template is not the one being sent.
 */
export function findTemplate(eventDir: string, name: string): TemplateLookup {
  const [own, builtin] = templateCandidates(eventDir, name) as [string, string];
  if (existsSync(own)) {
    const r = resolveInside(eventDir, relative(eventDir, own), MAX_TEMPLATE_BYTES);
    return r.ok ? r : { ok: false, reason: `templates/${name}.mjml ${r.reason}` };
  }
  if (existsSync(builtin)) return { ok: true, path: builtin };
  return { ok: false, reason: `no template "${name}" in templates/ (the event's or convene's)` };
}

export function resolveTemplate(eventDir: string, name: string): string | undefined {
  const r = findTemplate(eventDir, name);
  return r.ok ? r.path : undefined;
}
