import { CliError } from "./failure";

/**
 * Reads a secret (a password) from standard input: one line, piped (everything until EOF without the
 * trailing newline; more than one line is refused rather than cut or kept with its line breaks,
 * which nobody could type at a login) or typed hidden after a prompt on a terminal.
 */
export async function readSecret(what: string): Promise<string> {
  const value = process.stdin.isTTY ? await promptHidden(`${what}: `) : (await Bun.stdin.text()).replace(/\r?\n$/, "");
  if (value === "") throw new CliError(`no ${what} given on standard input`);
  if (/[\r\n]/.test(value)) throw new CliError(`the ${what} on standard input must be one line`);
  return value;
}

/** Reads one line from the terminal without echoing it. Ctrl-C aborts. */
function promptHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const done = (err?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return done();
        if (ch === "\u0003") return done(new CliError("aborted"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}
