/**
 * A composed message as one Buffer, for SMTP (issue 12).
 *
 * nodemailer's own path builds the same MIME tree, then streams it: every part through its own
 * Transform (quoted-printable or base64 encoder), every part scanned twice to choose its
 * encoding, and a letter's 17 KB calendar file encoded again for each of a thousand recipients.
 * nodemailer was 28 % of the worker's CPU per letter, most of it in that streaming.
 *
 * Here the tree is still nodemailer's (MailComposer: the same structure, headers, boundaries,
 * encoded words and transfer encodings), and so are the encoders (`qp`, `base64`); only the
 * walk is ours, synchronous, writing each part once. A part that is the same for many
 * messages (an attached file, the PUBLISH .ics of a step) is encoded once and kept in a small
 * cache. The result is handed to nodemailer as `raw`, which sends it as it is, the way the
 * benchmark's ceiling sends a pre-built message.
 *
 * Anything the walk does not know how to write byte for byte as nodemailer would (a part read
 * from a file, URL or stream, a pre-built raw part, the `newline` option, the options nodemailer's
 * sender rather than its composer applies) makes `assemble` return undefined, and the caller
 * sends the message the ordinary way. test/mail/assemble.test.ts compares both outputs byte for
 * byte, including the cases a fuzzing review found.
 */

import * as base64 from "nodemailer/lib/base64";
import MailComposer from "nodemailer/lib/mail-composer";
import type Mail from "nodemailer/lib/mailer/index.js";
import * as qp from "nodemailer/lib/qp";

/** What the walk reads of nodemailer's MimeNode beyond its typed API. */
interface Node {
  childNodes: Node[];
  boundary: string | false;
  /** Set by buildHeaders from the last Content-Type header, as nodemailer's stream reads it. */
  multipart: string | false | undefined;
  content: unknown;
  contentType: string;
  filename?: string;
  rootNode: Node;
  _raw: unknown;
  buildHeaders(): string;
  getHeader(key: string): string | undefined;
  messageId(): string;
  getEnvelope(): { from: string | false; to: string[] };
}

/** The part of a Transform that nodemailer's encoders implement, called directly below. */
interface EncoderLike {
  push(chunk: unknown, encoding?: BufferEncoding): boolean;
  _transform(chunk: Buffer, encoding: string, done: () => void): void;
  _flush(done: () => void): void;
}

/** Parts this large that repeat across messages are worth remembering encoded. */
const CACHE_MIN_BYTES = 2048;
const CACHE_ENTRIES = 32;

/**
 * Encoded parts by everything that decides their bytes. Least recently used goes first: a
 * worker sends a step's occurrence at a time, so the parts of the one being sent stay.
 */
export class PartCache {
  private readonly entries = new Map<string, Buffer>();
  constructor(private readonly size = CACHE_ENTRIES) {}

  get(key: string): Buffer | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  set(key: string, value: Buffer): void {
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
  envelope: Mail.Envelope;
  messageId: string;
}

class Unsupported extends Error {}

/**
 * Runs one of nodemailer's encoders over the whole content at once, the way its stream feeds
 * it (one chunk, then the end): the same bytes, without a stream. Its `qp.wrap(qp.encode())`
 * differs from the encoder when the text ends in whitespace, which the encoder wraps apart.
 */
function runEncoder(encoder: EncoderLike, content: Buffer): Buffer {
  const out: Buffer[] = [];
  encoder.push = (chunk, encoding) => {
    if (chunk !== null && chunk !== undefined)
      out.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk), encoding));
    return true;
  };
  if (content.length) encoder._transform(content, "buffer", () => undefined);
  encoder._flush(() => undefined);
  return Buffer.concat(out);
}

function encodeBody(content: string | Buffer, encoding: string, binary: boolean): Buffer {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  if (encoding === "base64") return runEncoder(new base64.Encoder() as never, bytes);
  if (encoding === "quoted-printable")
    return runEncoder(new qp.Encoder({ binary } as never) as never, bytes);
  return bytes;
}

/** The content nodemailer's stream would write, if it is at hand (not a file, URL or stream). */
function leafContent(node: Node): string | Buffer | undefined {
  const c = node.content;
  if (!c) return undefined;
  if (typeof c === "string" || Buffer.isBuffer(c)) return c;
  throw new Unsupported();
}

/**
 * The key of a part's encoded bytes: exactly what decides them (the transfer encoding, whether
 * the encoder treats the part as binary, the content), length-prefixed so no two parts can spell
 * the same key. Not the headers: a prepared header or a key function can make two parts write
 * the same headers and be encoded differently.
 */
function cacheKey(node: Node, encoding: string, content: string | Buffer): string | undefined {
  // Only attached files repeat across recipients; a body is personal, and keying it would copy
  // and hash its whole text for nothing. A part written as it is costs nothing to write again.
  if (node.rootNode === node || content.length < CACHE_MIN_BYTES) return undefined;
  if (encoding !== "base64" && encoding !== "quoted-printable") return undefined;
  if (!node.filename && !/^attachment/i.test(String(node.getHeader("Content-Disposition"))))
    return undefined;
  const text = typeof content === "string" ? content : content.toString("latin1");
  return `${encoding}:${isBinary(node) ? 1 : 0}:${typeof content}:${text}`;
}

/** nodemailer's quoted-printable encoder writes CR and LF of a non-text part as data. */
function isBinary(node: Node): boolean {
  return !/^text\//i.test(node.contentType || "");
}

function bodyOf(node: Node, cache: PartCache): Buffer | undefined {
  const content = leafContent(node);
  if (content === undefined) return undefined;
  const encoding = (node.getHeader("Content-Transfer-Encoding") ?? "").toLowerCase();
  const key = cacheKey(node, encoding, content);
  const hit = key === undefined ? undefined : cache.get(key);
  if (hit) return hit;
  const body = encodeBody(content, encoding, isBinary(node));
  if (key !== undefined) cache.set(key, body);
  return body;
}

/** One node as nodemailer's MimeNode.stream writes it: headers, content, then any children. */
function writeNode(node: Node, out: Buffer[], cache: PartCache): void {
  if (node._raw) throw new Unsupported();
  const headers = node.buildHeaders();
  out.push(Buffer.from(`${headers}\r\n\r\n`, "utf8"));
  const body = bodyOf(node, cache);
  if (body) out.push(body);
  if (!node.multipart) return;
  node.childNodes.forEach((child, i) => {
    out.push(Buffer.from(`${i > 0 ? "\r\n" : ""}--${node.boundary}\r\n`, "utf8"));
    writeNode(child, out, cache);
  });
  out.push(Buffer.from(`\r\n--${node.boundary}--\r\n`, "utf8"));
}

/** nodemailer's LastNewline: a message always ends with a line break. */
function withLastNewline(out: Buffer[]): Buffer[] {
  const last = [...out].reverse().find((b) => b.length > 0);
  const end = last?.[last.length - 1];
  if (end === 0x0a) return out;
  return [...out, Buffer.from(end === 0x0d ? "\n" : "\r\n")];
}

/**
 * What the raw hand-over would lose: line-ending conversion (the walk keeps the tree's), and
 * what nodemailer's sender, not its composer, adds to a message.
 */
function needsNodemailer(msg: Mail.Options): boolean {
  const m = msg as Mail.Options & { newline?: unknown; xMailer?: unknown };
  return (
    msg.raw !== undefined ||
    m.newline !== undefined ||
    msg.list !== undefined ||
    msg.priority !== undefined ||
    msg.attachDataUrls !== undefined ||
    m.xMailer !== undefined
  );
}

/** The tree nodemailer would build for `msg`, as one Buffer; undefined when it cannot be. */
export function assemble(msg: Mail.Options, cache: PartCache): Assembled | undefined {
  if (needsNodemailer(msg)) return undefined;
  const root = new MailComposer(msg).compile() as unknown as Node;
  const out: Buffer[] = [];
  try {
    writeNode(root, out, cache);
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  return {
    raw: Buffer.concat(withLastNewline(out)),
    // Whatever the caller's envelope holds besides the addresses (size, use8BitMime) stays.
    envelope: root.getEnvelope() as unknown as Mail.Envelope,
    messageId: root.messageId(),
  };
}
