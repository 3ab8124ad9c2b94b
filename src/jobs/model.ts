import { t, type Static } from "elysia";
import { Nullable, Timestamp } from "../wire/schema";

/** One recorded run of a job (`job_runs`). `ok` is null while the run is in progress. */
export const JobRunView = t.Object({
  id: t.String(),
  job: t.String(),
  kind: t.Union([t.Literal("schedule"), t.Literal("manual")]),
  scheduled_for: Nullable(Timestamp()),
  instance: t.String(),
  started_at: Timestamp(),
  finished_at: Nullable(Timestamp()),
  duration_ms: Nullable(t.Number()),
  ok: Nullable(t.Boolean()),
  result: Nullable(t.Record(t.String(), t.Any())),
  error: Nullable(t.String()),
});
export type JobRunView = Static<typeof JobRunView>;

/** A job as `taskmgr jobs list` shows it. */
export const JobStatusView = t.Object({
  name: t.String(),
  schedule: t.String(),
  description: t.String(),
  last_run: Nullable(JobRunView),
  next_run_at: Nullable(Timestamp()),
});
export type JobStatusView = Static<typeof JobStatusView>;

/** The `jobs` field of `GET /api/health`: per job, when it last started and whether it succeeded (null: running). */
export const JobsHealth = t.Record(
  t.String(),
  t.Object({ last_run_at: Nullable(Timestamp()), ok: Nullable(t.Boolean()) }),
);
export type JobsHealth = Static<typeof JobsHealth>;
