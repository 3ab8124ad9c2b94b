import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The checkout's root and the command line's entry point. */
export const ROOT = resolve(import.meta.dir, "../..");
export const MAIN = join(ROOT, "cli", "main.ts");

/** Runs the source command line on the Bun running the tests, as `npm start` and `npx taskmgr` run it. */
export const SOURCE_CLI = [process.execPath, "--no-env-file", MAIN];

const AS_ROOT = process.getuid?.() === 0;
const SETPRIV = Bun.which("setpriv");

/**
 * The source command line as a user that file modes stop (`chmod` tests): as root, run through
 * `setpriv` as nobody (uid and gid 65534), else as the test's own user.
 */
export const UNPRIVILEGED_CLI = AS_ROOT ? [SETPRIV ?? "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...SOURCE_CLI] : SOURCE_CLI;

/** Whether {@link UNPRIVILEGED_CLI} can run here (as root it needs `setpriv`): tests of file modes are skipped otherwise. */
export const CAN_RUN_UNPRIVILEGED = !AS_ROOT || SETPRIV !== null;

/** Configuration variables removed from the environment of every spawned command, so that only the test decides. */
const CONFIG_VARS = ["DATABASE_URL", "HOST", "PORT", "LOG_LEVEL", "LOG_DIR", "TASKMGR_DATA_DIR", "TASKMGR_SECRET"];

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Working folder (defaults to a fresh temporary one per call site via `tempDir`). */
  cwd: string;
  /** Standard input; none (EOF at once) when absent. */
  stdin?: string;
  env?: Record<string, string>;
  /** Variables removed from the environment (after `env` is applied). */
  unset?: string[];
  /** The command to run; the source CLI by default. */
  cli?: string[];
}

export function childEnv(extra: Record<string, string> = {}, unset: string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !CONFIG_VARS.includes(k)) env[k] = v;
  const out: Record<string, string> = { ...env, ...extra };
  for (const k of unset) delete out[k];
  return out;
}

/** Runs `taskmgr ARGS` to completion. */
export async function taskmgr(args: string[], opts: RunOptions): Promise<Ran> {
  const proc = Bun.spawn([...(opts.cli ?? SOURCE_CLI), ...args], {
    cwd: opts.cwd,
    env: childEnv(opts.env, opts.unset),
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** A fresh temporary folder, removed by `removeTempDirs`. */
const made: string[] = [];
export function tempDir(prefix = "taskmgr-cli-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A running `taskmgr serve`. */
export interface Served {
  proc: ReturnType<typeof Bun.spawn>;
  /** The URL from the "listening on" line. */
  url: string;
  /** Everything printed on stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Sends `signal` and waits for the exit status. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/**
 * Spawns `taskmgr serve ARGS` (or the command `script`, e.g. `npm start`) and resolves once it
 * printed the URL it listens on; rejects (with its output) when it exits first or after `timeoutMs`.
 */
export async function serve(args: string[], opts: Omit<RunOptions, "stdin"> & { timeoutMs?: number; script?: string[] }): Promise<Served> {
  const proc = Bun.spawn(opts.script ?? [...(opts.cli ?? SOURCE_CLI), "serve", ...args], {
    cwd: opts.cwd,
    env: childEnv(opts.env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  let err = "";
  const drain = async (stream: ReadableStream<Uint8Array>, onText: (s: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) onText(decoder.decode(chunk, { stream: true }));
  };
  const outDone = drain(proc.stdout as ReadableStream<Uint8Array>, (s) => (out += s));
  const errDone = drain(proc.stderr as ReadableStream<Uint8Array>, (s) => (err += s));
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let url: string | undefined;
  while (!url) {
    url = /taskmgr listening on (http:\/\/\S+)/.exec(out)?.[1];
    if (url) break;
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      await proc.exited;
      throw new Error(`serve did not start (exit ${proc.exitCode}):\n${out}\n${err}`);
    }
    await Bun.sleep(20);
  }
  return {
    proc,
    url,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal = "SIGTERM") => {
      proc.kill(signal);
      const code = await proc.exited;
      await Promise.all([outDone, errDone]);
      return code;
    },
  };
}
