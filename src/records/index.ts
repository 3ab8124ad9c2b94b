/**
 * The write core of synced records, for REST (src/projects, src/tasks, src/comments) and the
 * sync engine (src/sync). See docs in each module; the entry points:
 *
 * - `writeRecord(tx, {entity, orgId, before, data, id?, action, userId, deviceId, clock?, originDevice?, now?, deleted?})`
 *   — the only way a project/task/comment is created, changed or soft-deleted.
 * - `recordRepo(exec, orgId, kind)` — `find`, `mustGet`, `mustGetLive`, `findMany` (org-scoped).
 * - `new HistoryRepo(exec, orgId)` — `findSnapshot(entity, id, version)` (merge base), `list` (the API's pages; `find`: one entry, for checks).
 * - `readFeedJson(exec, orgId, afterPos, limit, {liveOnly?, throughPos?, skipOrigin?, withState?})`, `readFeedState(exec, orgId)` — the pull feed.
 * - `checkFields(kind, data)` — value rules of writable fields (what a push `data` may hold).
 * - `requireCommentAuthor`, `requireCommentDeleter` — who may edit or delete a comment (REST and sync alike).
 * - `clock.ts` — vector clocks (pure): compared by the sync engine, stamped by `writeRecord`.
 */
export * from "./authorship";
export * from "./entities";
export * from "./feed";
export * from "./feed-json";
export * from "./history";
export * from "./json";
export * from "./model";
export * from "./refs";
export * from "./repo";
export * from "./validate";
export * from "./write";
