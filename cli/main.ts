import "./production"; // first: before anything loads Elysia
import { CommanderError } from "commander";
import { describeFailure } from "./failure";
import { buildProgram } from "./program";

/** Exit statuses: 0 success, 1 failure (one line on stderr), 2 bad usage. */
const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    process.stderr.write(`error: ${describeFailure(err)}\n`);
    if (process.env.LOG_LEVEL === "debug" && err instanceof Error && err.stack) process.stderr.write(err.stack + "\n");
    return EXIT.failure;
  }
}

const code = await main(process.argv.slice(2));
await new Promise<void>((done) => process.stdout.write("", () => done()));
process.exit(code);
