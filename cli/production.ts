/**
 * Imported first by cli/main.ts, before any module that loads Elysia, which decides once, as it
 * loads, whether it runs in production (`NODE_ENV`). Outside production Elysia pretty-prints the
 * whole offending value into the message of every validation error — about a second of CPU on the
 * one event loop for a large invalid body — a message taskmgr never shows (src/http/errors.ts
 * builds its own 422). An explicit `NODE_ENV` is kept.
 */
process.env.NODE_ENV ||= "production";
