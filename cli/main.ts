import "./production"; // first: before anything loads Elysia
import { type Command, CommanderError } from "commander";
import { ConfigError } from "../src/config";
import { closedOutputTolerated } from "./closed-output";
import { describeFailure, UsageError } from "./failure";
import { buildProgram } from "./program";

/** How long `serve` waits, once stopped, for its standard output to take what is left. */
const STDOUT_GRACE_MS = 1_000;

/** Exit statuses: 0 success, 1 failure (one line on stderr), 2 bad usage. */
const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

// Output nobody reads any more (`taskmgr users list | true`): one line and status 1, never a stack
// trace; ignored by `serve` (cli/closed-output.ts).
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (closedOutputTolerated()) return;
  process.stderr.write(`error: ${err.code === "EPIPE" ? "the output was closed before it was all written (broken pipe)" : describeFailure(err)}\n`);
  process.exit(EXIT.failure);
});

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    process.stderr.write(`error: ${describeFailure(err)}\n`);
    if (debugging(program) && err instanceof Error && err.stack) process.stderr.write(err.stack + "\n");
    return err instanceof UsageError || (err instanceof ConfigError && err.fromFlag) ? EXIT.usage : EXIT.failure;
  }
}

/**
 * The log level is debug: `--log-level debug`, or `LOG_LEVEL=debug` without the flag (the flag beats the
 * variable, and spaces around the value are ignored, as in loadConfig).
 */
function debugging(program: Command): boolean {
  const level = program.opts<{ logLevel?: string }>().logLevel ?? process.env.LOG_LEVEL;
  return level?.trim().toLowerCase() === "debug";
}

const code = await main(process.argv.slice(2));
// Everything written reaches the reader before exit: `end` calls back once stdout is flushed (an empty
// write's callback came before that, and a pipe read slowly lost all but its first 64 KB).
const flushed = new Promise<void>((done) => process.stdout.end(() => done()));
// `serve` does not wait for an output nobody can take (a write that failed, as to a full disk, is
// never flushed, and a stalled reader may never read): its log file has it all.
await (closedOutputTolerated() ? Promise.race([flushed, Bun.sleep(STDOUT_GRACE_MS)]) : flushed);
process.exit(code);
