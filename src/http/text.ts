/**
 * Text on the wire: strings without the NUL character (U+0000). JSON can carry one (`\u0000`) and
 * SQLite would store it, but a Postgres `text` cannot hold it: every free-text field and filter is
 * declared with {@link Text}, so both dialects refuse it alike, before any storage — 422 naming the
 * field for a request, `rejected` for a pushed change (the rest of its batch still applied).
 */
import type { StringOptions } from "@sinclair/typebox";
import { t } from "elysia";

/** Matches a string without NUL (the `pattern` of {@link Text}). */
export const NO_NUL_PATTERN = "^[^\\u0000]*$";

/** The reason given for a value holding a NUL character. */
export const NUL_REASON = "must not contain the NUL character (U+0000)";

/** A string schema (`t.String` with `opts`) that refuses the NUL character. */
export const Text = (opts: StringOptions = {}) => t.String({ ...opts, pattern: NO_NUL_PATTERN });

/** True when `value` is a string holding a NUL character (to give {@link NUL_REASON} instead of the pattern's message). */
export const hasNul = (value: unknown): boolean => typeof value === "string" && value.includes("\u0000");
