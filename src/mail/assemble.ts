/**
 * A composed message as one Buffer, for SMTP (issue 12).
 *
 * nodemailer's own path builds the same MIME tree, then streams it: every part through its own
 * Transform (quoted-printable or base64 encoder), every part scanned twice to choose its
 * encoding, and a letter's 17 KB calendar file encoded again for each of a thousand recipients.
 * That streaming was about a third of the worker's CPU per message.
 *
 * Here the tree is still nodemailer's (MailComposer: the same structure, headers, boundaries,
 * encoded words and transfer encodings), and so are the encoders (`qp`, `base64`); only the
 * walk is ours, synchronous, writing each part once. A part that is the same for many
 * messages (an attached file, the PUBLISH .ics of a step) is encoded once and kept in a small
 * cache. The result is handed to nodemailer as `raw`, which sends it as it is, the way the
 * benchmark's ceiling sends a pre-built message.
 *
 * Anything the walk does not know how to write byte for byte as nodemailer would (a part read
 * from a file or URL, a pre-built raw part, a non-text quoted-printable part) makes `assemble`
 * return undefined, and the caller sends the message the ordinary way. test/mail/assemble.test.ts
 * compares both outputs byte for byte.
 */

import * as base64 from "nodemailer/lib/base64";
import MailComposer from "nodemailer/lib/mail-composer";
import type Mail from "nodemailer/lib/mailer/index.js";
import * as qp from "nodemailer/lib/qp";

/** What the walk reads of nodemailer's MimeNode beyond its typed API. */
interface Node {
  childNodes: Node[];
  boundary: string | false;
  content: unknown;
  contentType: string;
  filename?: string;
  rootNode: Node;
  _raw: unknown;
  _headers: unknown[];
  buildHeaders(): string;
  getHeader(key: string): string | undefined;
  messageId(): string;
  getEnvelope(): { from: string | false; to: string[] };
}

/** nodemailer's line length for both encoders. */
const LINE = 76;

/** Parts this large that repeat across messages are worth remembering encoded. */
const CACHE_MIN_BYTES = 2048;
const CACHE_ENTRIES = 32;

/**
 * Encoded parts by everything that decides their bytes. Least recently used goes first: a
 * worker sends a step's occurrence at a time, so the parts of the one being sent stay.
 */
export class PartCache {
  private readonly entries = new Map<string, string>();
  constructor(private readonly size = CACHE_ENTRIES) {}

  get(key: string): string | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  set(key: string, value: string): void {
    this.entries.set(key, value);
    if (this.entries.size > this.size) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  get count(): number {
    return this.entries.size;
  }
}

export interface Assembled {
  raw: Buffer;
  envelope: { from: string; to: string[] };
  messageId: string;
}

class Unsupported extends Error {}

function encodeBody(content: string | Buffer, encoding: string, contentType: string): string {
  if (encoding === "base64") return base64.wrap(base64.encode(content), LINE);
  if (encoding === "quoted-printable") {
    // nodemailer encodes CR and LF of a non-text part as data (its Encoder's `binary`), which
    // qp.encode does not: leave those to nodemailer.
    if (!/^text\//i.test(contentType)) throw new Unsupported();
    return qp.wrap(qp.encode(content), LINE);
  }
  // 7bit or 8bit as it is: only text, since the message is joined as a string.
  if (typeof content !== "string") throw new Unsupported();
  return content;
}

function leafContent(node: Node): string | Buffer | undefined {
  const c = node.content;
  if (c === undefined || c === null || c === false || c === "") return undefined;
  if (typeof c === "string" || Buffer.isBuffer(c)) return c;
  throw new Unsupported();
}

/** The key of a leaf's bytes: its content and the headers that decide how it is written. */
function cacheKey(node: Node, content: string | Buffer): string | undefined {
  // Only attached files repeat across recipients; a body is personal, and keying it would copy
  // and hash its whole text for nothing. (The root's headers carry the recipient anyway.)
  if (node.rootNode === node || content.length < CACHE_MIN_BYTES) return undefined;
  if (!node.filename && !/^attachment/i.test(String(node.getHeader("Content-Disposition"))))
    return undefined;
  const text = typeof content === "string" ? content : content.toString("latin1");
  // Every header of the part (a Content-Id or a custom header changes its bytes too).
  return [JSON.stringify(node._headers), node.filename ?? "", typeof content, text].join("\u0000");
}

/** A leaf as nodemailer's stream writes it: headers, a blank line, the encoded content. */
function writeLeaf(node: Node, cache: PartCache): string {
  const content = leafContent(node);
  const key = content === undefined ? undefined : cacheKey(node, content);
  const hit = key === undefined ? undefined : cache.get(key);
  if (hit !== undefined) return hit;
  const headers = node.buildHeaders();
  const encoding = (node.getHeader("Content-Transfer-Encoding") ?? "").toLowerCase();
  const body = content === undefined ? "" : encodeBody(content, encoding, node.contentType);
  const out = `${headers}\r\n\r\n${body}`;
  if (key !== undefined) cache.set(key, out);
  return out;
}

/** nodemailer sets `multipart` only while it builds the headers; the Content-Type says it first. */
function isMultipart(node: Node): boolean {
  return node.childNodes.length > 0 || /^multipart\//i.test(String(node.getHeader("Content-Type")));
}

function writeNode(node: Node, out: string[], cache: PartCache): void {
  if (node._raw) throw new Unsupported();
  if (!isMultipart(node)) {
    out.push(writeLeaf(node, cache));
    return;
  }
  out.push(`${node.buildHeaders()}\r\n\r\n`);
  node.childNodes.forEach((child, i) => {
    out.push(`${i > 0 ? "\r\n" : ""}--${node.boundary}\r\n`);
    writeNode(child, out, cache);
  });
  out.push(`\r\n--${node.boundary}--\r\n`);
}

/** nodemailer's LastNewline: a message always ends with a line break. */
function withLastNewline(text: string): string {
  if (text.endsWith("\n")) return text;
  return text.endsWith("\r") ? `${text}\n` : `${text}\r\n`;
}

/** The tree nodemailer would build for `msg`, as one Buffer; undefined when it cannot be. */
export function assemble(msg: Mail.Options, cache: PartCache): Assembled | undefined {
  if (msg.raw !== undefined) return undefined;
  const root = new MailComposer(msg).compile() as unknown as Node;
  const out: string[] = [];
  try {
    writeNode(root, out, cache);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  const envelope = root.getEnvelope();
  return {
    raw: Buffer.from(withLastNewline(out.join("")), "utf8"),
    envelope: { from: envelope.from || "", to: envelope.to },
    messageId: root.messageId(),
  };
}
