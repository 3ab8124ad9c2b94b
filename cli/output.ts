/** One column of a table: a header and how to read the cell from a row. */
export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

/**
 * Prints a listing: with `json`, a JSON array of the rows (through `toJson`, the wire view,
 * when given); otherwise an aligned table with a header line, one row per line.
 */
export function printList<T>(rows: T[], columns: Column<T>[], json: boolean, toJson: (row: T) => unknown = (r) => r): void {
  process.stdout.write(json ? jsonText(rows.map(toJson)) + "\n" : formatTable(rows, columns));
}

/**
 * An aligned plain-text table (two spaces between columns, no trailing blanks). Cells are padded by
 * the columns a terminal gives them (`Bun.stringWidth`: a CJK character or an emoji takes two, a
 * combining accent none), not by UTF-16 code units, which misaligned names in those scripts.
 */
export function formatTable<T>(rows: T[], columns: Column<T>[]): string {
  const cells = [columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => cell(c.value(r))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => Bun.stringWidth(line[i]!))));
  const pad = (s: string, width: number) => s + " ".repeat(width - Bun.stringWidth(s));
  return cells.map((line) => line.map((s, i) => pad(s, widths[i]!)).join("  ").trimEnd()).join("\n") + "\n";
}

function cell(v: unknown): string {
  if (v === null || v === undefined || v === "") return "-";
  if (typeof v === "boolean") return v ? "yes" : "no";
  return printable(String(v));
}

/** Control characters (C0, DEL, C1), the line and paragraph separators, zero-width and bidirectional marks, overrides and isolates. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with its control characters and bidirectional overrides written as escapes (`\u000a`,
 * `\u001b`, `\u202e`): names come from API clients (any member names their devices), and a line
 * break would forge a table row, an escape sequence would drive the admin's terminal, an override
 * would show a name reversed.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** What JSON.stringify leaves raw in strings of {@link UNPRINTABLE}: DEL, C1 controls, separators, zero-width and bidirectional marks. */
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `value` as JSON with two-space indentation, every character of {@link UNPRINTABLE} written as a
 * JSON escape: JSON.stringify escapes the C0 controls (ESC included) but leaves C1 controls raw
 * (U+009B is an 8-bit CSI that some terminals obey), and bidirectional overrides, which show a text
 * reversed. The same JSON (a parser reads the same value), safe on the admin's terminal: stored text
 * comes from API clients. Those characters occur in strings only (the layout is spaces and line breaks).
 */
function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Prints one created or changed record: as a JSON object with `json` ({@link jsonText}), else the `summary` line (made printable). */
export function printRecord(record: unknown, json: boolean, summary: string): void {
  process.stdout.write((json ? jsonText(record) : printable(summary)) + "\n");
}

/**
 * Writes a JSON array one element at a time, the same text as {@link printList}'s `--json`
 * ({@link jsonText}): for listings too large to hold whole. Each write waits while standard output's buffer
 * is full (a slow reader), so that memory holds about one element.
 */
export class JsonArrayWriter {
  private written = 0;

  /** `write`: where the text goes (standard output, waiting while its buffer is full). */
  constructor(private readonly write: (text: string) => Promise<void> = out) {}

  async item(value: unknown): Promise<void> {
    const text = jsonText(value).replace(/\n/g, "\n  ");
    await this.write(`${this.written++ === 0 ? "[\n  " : ",\n  "}${text}`);
  }

  async end(): Promise<void> {
    await this.write(this.written === 0 ? "[]\n" : "\n]\n");
  }
}

/** Writes `text` to standard output; when its buffer is full, resolves once it has drained (or output failed: main.ts reports that). */
function out(text: string): Promise<void> {
  if (process.stdout.write(text)) return Promise.resolve();
  return new Promise((done) => {
    const finish = () => {
      process.stdout.off("drain", finish);
      process.stdout.off("error", finish);
      done();
    };
    process.stdout.once("drain", finish);
    process.stdout.once("error", finish);
  });
}
