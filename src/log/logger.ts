import { accessSync, closeSync, constants, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { createStream } from "rotating-file-stream";
import type { LogLevel } from "../config";
import { type ConsoleSink, pausingSink } from "./console-sink";
import { type FileSink, fileSink, type LogFileStream } from "./file-sink";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** Field names whose values never reach a log line. */
const SECRET_KEYS = /pass|token|secret|authorization|refresh|access/i;

/** Structured logging: one JSON line per event, to the console and (when serving) a rotating file. */
export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  close(): Promise<void>;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Folder of `taskmgr.log` (15 MB × 10 rotated files); no file when absent. */
  dir?: string;
  /** Console sink; defaults to stdout (lines dropped while its reader stalls: {@link pausingSink}), `null` for none. */
  console?: ((line: string) => void) | null;
  /** Opens the stream of `dir`'s `taskmgr.log` (tests: one that fails); defaults to the rotating file. */
  openFile?: (dir: string) => LogFileStream;
}

/** Creates a logger; secrets are redacted by field name before anything is written. */
export function createLogger(opts: LoggerOptions): Logger {
  let file: FileSink | null = null;
  if (opts.dir) {
    const dir = opts.dir;
    mkdirSync(opts.dir, { recursive: true });
    // Checked here, so that a folder or a file this process may not write fails the start: the stream
    // below reports its open failure as an error event, which nobody sees, and logged nothing (the
    // folder is written too: rotation renames the file and creates the next one).
    openLogFile(join(dir, "taskmgr.log"));
    accessSync(dir, constants.W_OK);
    // A file that could not be written (the disk full) is opened again, and says how many lines it lost.
    const reopened = (count: number, error: string) =>
      write("warn", "log_file_lines_dropped", { count, error, reason: "the log file could not be written (is its disk full?); these lines went to standard output only" });
    file = fileSink(join(dir, "taskmgr.log"), () => (opts.openFile ?? rotatingFile)(dir), reopened);
  }
  const stdout: ConsoleSink | null = opts.console === undefined ? pausingSink(process.stdout, (n) => reportDropped(n)) : null;
  const out = stdout ?? opts.console;
  const min = RANK[opts.level];
  const write = (level: LogLevel, event: string, fields: Record<string, unknown> = {}) => {
    if (RANK[level] < min) return;
    const time = new Date().toISOString();
    // The line's own time, level and event first, and never replaced by a field of the same name.
    const line = JSON.stringify(Object.assign({ time, level, event, ...redact(fields) }, { time, level, event }));
    out?.(line);
    file?.(line);
  };
  const reportDropped = (count: number) => write("warn", "stdout_lines_dropped", { count, reason: "standard output was not read, or was closed; the log file has every line" });
  return {
    debug: (e, f) => write("debug", e, f),
    info: (e, f) => write("info", e, f),
    warn: (e, f) => write("warn", e, f),
    error: (e, f) => write("error", e, f),
    close: () => {
      const dropped = stdout?.takeDropped() ?? 0;
      if (dropped > 0) reportDropped(dropped);
      return file ? file.close() : Promise.resolve();
    },
  };
}

/**
 * Creates the log file `path` (mode 0600) or opens it to append, never through a symbolic link in its
 * place: whoever could put one there first (in a folder others may write to) would have the server,
 * perhaps root, append its lines to a file of their choosing. Such a link is refused, naming it.
 */
function openLogFile(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ELOOP") throw err;
    throw new Error(`${path} is a symbolic link: the log is written to the file taskmgr.log of LOG_DIR itself (set LOG_DIR to the folder it should be in)`);
  }
}

/** `dir`'s `taskmgr.log`, rotated at 15 MB with 10 rotated files kept (`taskmgr.log.1` the newest). */
function rotatingFile(dir: string): LogFileStream {
  return createStream((time: number | Date, index?: number) => (time ? `taskmgr.log.${index ?? time}` : "taskmgr.log"), {
    size: "15M",
    rotate: 10,
    path: dir,
    mode: 0o600, // emails and ids of failed logins: the server's user only
  });
}

/** A logger that drops everything (tests; the CLI's commands log through `adminLogger`, cli/context.ts, to stderr at `--log-level debug`). */
export const silentLogger: Logger = createLogger({ level: "error", console: null });

/**
 * Redacts by field name, but only values that could hold a secret: a number, a boolean or null never
 * does, and is kept (cleanup-sync-logs' count `refresh_token_rows` was logged as "[redacted]"). Fields
 * of nested objects and of objects in arrays are redacted alike (a `headers` object's `authorization`
 * was written as it was).
 */
function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = SECRET_KEYS.test(k) && !isPlainValue(v) ? "[redacted]" : redactWithin(v);
  return out;
}

/** `v` with the secret-looking fields of the plain objects in it redacted (other values as they are). */
function redactWithin(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redactWithin);
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) return redact(v as Record<string, unknown>);
  return v;
}

const isPlainValue = (v: unknown): boolean => v === null || typeof v === "number" || typeof v === "boolean";
