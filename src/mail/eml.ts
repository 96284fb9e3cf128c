/** The raw RFC 5322 bytes of a message, exactly as nodemailer would hand them to SMTP. */
import nodemailer from "nodemailer";
import type Mail from "nodemailer/lib/mailer/index.js";

const stream = nodemailer.createTransport({
  streamTransport: true,
  buffer: true,
  newline: "windows",
});

export async function toEml(msg: Mail.Options): Promise<{ messageId: string; raw: Buffer }> {
  const info = (await stream.sendMail(msg)) as { messageId: string; message: Buffer };
  return { messageId: info.messageId, raw: info.message };
}
