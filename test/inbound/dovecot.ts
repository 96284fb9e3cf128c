/**
 * A real Dovecot for the inbound tests: its own config, base_dir, state and maildir under a temp
 * folder, a plain-text IMAP listener on a free loopback port, and one passwd-file user. Nothing
 * of the system's Dovecot (service, /etc/dovecot, /var/run/dovecot) is touched.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { ImapFlow } from "imapflow";

export const DOVECOT = "/usr/sbin/dovecot";

export interface Dovecot {
  port: number;
  user: string;
  pass: string;
  /** `imap://user:pass@127.0.0.1:port/INBOX`. */
  url: string;
  dir: string;
  /** A connected IMAP client on the test user's mailbox, for delivering and inspecting mail. */
  imap(): Promise<ImapFlow>;
  /** Kills the server with SIGKILL (as a crash would) and starts it again on the same port and mail. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket();
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once("error", () => done(false));
    sock.once("data", (d) => done(d.toString().startsWith("* OK")));
    sock.connect(port, "127.0.0.1");
  });
}

/**
 * Dovecot refuses to run its login processes as root; as root the Debian package's own
 * unprivileged users do (they exist once dovecot-core is installed), otherwise the current user.
 */
function processUsers(me: string): string {
  if (me !== "root")
    return `default_internal_user = ${me}\ndefault_internal_group = ${me}\ndefault_login_user = ${me}`;
  return "default_internal_user = dovecot\ndefault_login_user = dovenull";
}

/** The owner of the maildir: Dovecot never gives a mailbox to root, so as root its own user. */
function mailOwner(): { uid: number; gid: number } {
  const me = userInfo();
  if (me.uid !== 0) return { uid: me.uid, gid: me.gid };
  const id = (flag: string) => Number(execFileSync("id", [flag, "dovecot"], { encoding: "utf8" }));
  return { uid: id("-u"), gid: id("-g") };
}

function config(dir: string, port: number, user: string): string {
  const me = userInfo();
  const mail = mailOwner();
  return `
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = convene-test-${port}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = ${dir}/dovecot.log
info_log_path = ${dir}/dovecot.log
${processUsers(me.username)}
mail_location = maildir:${dir}/mail/%u
mail_uid = ${mail.uid}
mail_gid = ${mail.gid}
first_valid_uid = ${mail.uid}
first_valid_gid = ${mail.gid}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=${mail.uid} gid=${mail.gid} home=${dir}/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
service pop3-login {
  chroot =
}
protocol imap {
  mail_max_userip_connections = 50
}
namespace inbox {
  inbox = yes
  separator = /
}
# The test user's stuff: ${user}
`;
}

/** Starts Dovecot in the foreground (-F) so the test owns the process; resolves once it greets. */
export async function startDovecot(): Promise<Dovecot> {
  if (!existsSync(DOVECOT))
    throw new Error(
      `${DOVECOT} is missing: install Debian's dovecot-imapd (bash .ci/run does) for the inbound tests`,
    );
  const dir = mkdtempSync(join(tmpdir(), "convene-dovecot-"));
  // The login and internal processes run as other users: they must reach base_dir.
  chmodSync(dir, 0o755);
  for (const d of ["run", "state", "mail", "home"]) mkdirSync(join(dir, d), { recursive: true });
  const owner = mailOwner();
  for (const d of ["mail", "home"]) chownSync(join(dir, d), owner.uid, owner.gid);
  const port = await freePort();
  const user = "organizer";
  const pass = "imap-test-password";
  writeFileSync(join(dir, "users"), `${user}:{PLAIN}${pass}\n`);
  const conf = join(dir, "dovecot.conf");
  writeFileSync(conf, config(dir, port, user));
  let proc: ChildProcess;
  let exited = false;
  const launch = async () => {
    exited = false;
    proc = spawn(DOVECOT, ["-F", "-c", conf], { stdio: "ignore" });
    proc.once("exit", () => {
      exited = true;
    });
    const deadline = Date.now() + 20_000;
    while (!(await greets(port))) {
      if (exited || Date.now() > deadline) {
        proc.kill("SIGKILL");
        throw new Error(`dovecot did not start; see ${join(dir, "dovecot.log")}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await launch();
  const restart = async () => {
    const gone = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGKILL");
    await gone;
    // The master's children (login, imap, auth) notice it is gone and exit; until the port is
    // free again a new master cannot listen.
    const deadline = Date.now() + 20_000;
    while (await greets(port)) {
      if (Date.now() > deadline) throw new Error("dovecot's old processes kept the port");
      await new Promise((r) => setTimeout(r, 100));
    }
    // A killed master leaves its pid file and sockets; dovecot refuses to start over a live one only.
    await launch();
  };
  const stop = async () => {
    if (!exited) {
      const gone = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 5_000);
      await gone;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    port,
    user,
    pass,
    url: `imap://${user}:${pass}@127.0.0.1:${port}/INBOX`,
    dir,
    async imap() {
      const c = new ImapFlow({
        host: "127.0.0.1",
        port,
        secure: false,
        auth: { user, pass },
        logger: false,
      });
      await c.connect();
      return c;
    },
    restart,
    stop,
  };
}
