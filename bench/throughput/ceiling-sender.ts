/**
 * The ceiling's sender: N copies of one pre-built convene message, as raw bytes, through a
 * nodemailer transport with convene's settings (smtp.ts), CONCURRENCY in flight like the
 * worker. Nothing is built per message: this is what the pool and the SMTP server allow.
 *
 *   argv: <smtp-url> <eml-file> <n> <from> <to>
 */
import { readFileSync } from "node:fs";
import nodemailer from "nodemailer";
import { CONCURRENCY, pooledUrl } from "./smtp.js";

const [smtpUrl, emlFile, nArg, from, to] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];

async function sendAll(): Promise<void> {
  const raw = readFileSync(emlFile);
  const transport = nodemailer.createTransport(pooledUrl(smtpUrl));
  const n = Number(nArg);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      next++;
      await transport.sendMail({ raw, envelope: { from, to } });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  transport.close();
}

process.on("message", (m) => {
  if (m === "go")
    sendAll().catch((e: Error) => {
      process.stderr.write(`ceiling sender: ${e.stack}\n`);
      process.exit(1);
    });
  if (m === "close") process.exit(0);
});
// The benchmark died without saying "close": do not go on sending.
process.on("disconnect", () => process.exit(1));
process.send?.("ready");
