import { CliError } from "./failure";

/**
 * Reads a secret (a password) from standard input: one line, piped (everything until EOF without the
 * trailing newline; more than one line is refused rather than cut or kept with its line breaks,
 * which nobody could type at a login) or, on a terminal, typed hidden after a prompt and typed again
 * to confirm it (a typo nobody saw would otherwise be the only password of the account).
 */
export async function readSecret(what: string): Promise<string> {
  const value = process.stdin.isTTY ? await promptConfirmed(what) : (await Bun.stdin.text()).replace(/\r?\n$/, "");
  if (value === "") throw new CliError(`no ${what} given on standard input`);
  if (/[\r\n]/.test(value)) throw new CliError(`the ${what} on standard input must be one line`);
  return value;
}

/** The secret typed twice on the terminal; a failure, with nothing changed, when the two differ. */
async function promptConfirmed(what: string): Promise<string> {
  const first = await promptHidden(`${what}: `);
  if (first === "") return first;
  const again = await promptHidden(`${what} again: `);
  if (again !== first) throw new CliError(`the two ${what}s typed differ; nothing was changed`);
  return first;
}

/**
 * Reads one line from the terminal without echoing it. Ctrl-C aborts. Bun turns the echo back on
 * when a SIGINT or SIGTERM ends the process, not on a SIGHUP (a terminal multiplexer's window
 * closed, a `kill -HUP`): that one is caught while prompting, the echo restored, and the signal
 * raised again to end the command as it would have.
 */
function promptHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const restore = () => {
      stdin.off("data", onData);
      process.off("SIGHUP", onHangup);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const done = (err?: Error) => {
      restore();
      if (err) reject(err);
      else resolve(value);
    };
    const onHangup = () => {
      restore();
      process.kill(process.pid, "SIGHUP");
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return done();
        if (ch === "\u0003") return done(new CliError("aborted"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    process.once("SIGHUP", onHangup);
    stdin.on("data", onData);
  });
}
