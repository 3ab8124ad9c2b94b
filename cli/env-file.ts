import { readFileSync } from "node:fs";
import { parse } from "dotenv";
import { ConfigError } from "../src/config";
import { redact } from "../src/db/url";

/**
 * Reads the `.env` file of the working folder into `env`, for the variables `env` does not have
 * (an environment variable, even an empty one, beats the file). Only that file, read the way the
 * `dotenv` package reads it: `NAME=value` lines, `#` comment lines, quotes around a value that holds
 * `#` or spaces at its ends, and `$NAME` kept as written (no expansion). taskmgr reads it itself:
 * Bun's own loading, turned off wherever taskmgr starts (`--no-env-file`, and the binary built with
 * `--no-compile-autoload-dotenv`), would also read `.env.local` and `.env.development` over it and
 * expand `$NAME`, even inside single quotes. A missing file is no file; one that cannot be read is
 * a failure (one line, exit 1). Answers the names of the variables it set, so that a bad value is
 * blamed on the file.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env, path = ".env"): Set<string> {
  const set = new Set<string>();
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return set;
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
  for (const [name, value] of Object.entries(parse(text))) {
    if (name in env) continue;
    env[name] = value;
    set.add(name);
  }
  return set;
}

/**
 * The names of the secrets among the variables `.env` set (`fromFile`, as {@link loadEnvFile}
 * answered them; their values in `env`): `TASKMGR_SECRET`, and `DATABASE_URL` when it holds a
 * password. `serve` warns (`env_file_mode`) when other users may read or replace a `.env` holding any.
 */
export function secretsFromEnvFile(fromFile: ReadonlySet<string>, env: NodeJS.ProcessEnv): string[] {
  const names: string[] = [];
  if (fromFile.has("TASKMGR_SECRET") && env.TASKMGR_SECRET) names.push("TASKMGR_SECRET");
  const url = env.DATABASE_URL;
  if (fromFile.has("DATABASE_URL") && url && redact(url) !== url) names.push("DATABASE_URL");
  return names;
}
