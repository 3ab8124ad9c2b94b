/**
 * Reading the values of {@link Executor.rawRows}: bytes from Postgres (a column's text form, UTF-8),
 * numbers, strings or bytes from SQLite.
 */
import type { RawValue } from "./types";

const decoder = new TextDecoder();

/** The value as text (null, or a column not there, is null). */
export function rawText(v: RawValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "string") return v;
  return typeof v === "number" ? String(v) : decoder.decode(v);
}

/** The value as a number (an integer column: `Number` of its text on Postgres); `ifNull` for null. */
export function rawNumber(v: RawValue | undefined, ifNull = Number.NaN): number {
  if (typeof v === "number") return v;
  const text = rawText(v);
  return text === null ? ifNull : Number(text);
}

/** The value as UTF-8 bytes, without a copy when it already is bytes (null, or a column not there, is null). */
export function rawBytes(v: RawValue | undefined): Uint8Array | null {
  if (v === undefined || v === null) return null;
  if (v instanceof Uint8Array) return v;
  return Buffer.from(String(v));
}
