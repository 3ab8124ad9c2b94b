import type { Executor } from "../db/types";
import type { JobRunView } from "./model";
import type { JobResult } from "./types";

interface JobRunRow {
  id: string;
  job: string;
  scheduled_for: string | null;
  kind: "schedule" | "manual";
  instance: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  ok: number | null;
  result: string | null;
  error: string | null;
}

const COLS = "id, job, scheduled_for, kind, instance, started_at, finished_at, duration_ms, ok, result, error";

const toView = (r: JobRunRow): JobRunView => ({
  id: r.id,
  job: r.job,
  kind: r.kind,
  scheduled_for: r.scheduled_for,
  instance: r.instance,
  started_at: r.started_at,
  finished_at: r.finished_at,
  duration_ms: r.duration_ms === null ? null : Number(r.duration_ms),
  ok: r.ok === null ? null : Number(r.ok) === 1,
  result: r.result === null ? null : JSON.parse(r.result),
  error: r.error,
});

/** The start of a run, as inserted before the job executes. */
export interface RunStart {
  id: string;
  job: string;
  kind: "schedule" | "manual";
  scheduledFor: string | null;
  instance: string;
  startedAt: string;
}

/** The end of a run, as recorded once the job returned or threw. */
export interface RunEnd {
  finishedAt: string;
  durationMs: number;
  ok: boolean;
  result: JobResult | null;
  error: string | null;
}

/**
 * `job_runs`: jobs are system-wide (they work across organizations), so this repository is
 * not constructed with an `orgId`.
 */
export class JobRunsRepo {
  constructor(private readonly exec: Executor) {}

  /**
   * Inserts the run's row. For a scheduled run this is the claim on its tick: false when another
   * instance already inserted the same (job, scheduled_for), in which case this one must not run.
   */
  async claim(run: RunStart): Promise<boolean> {
    const { changes } = await this.exec.run(
      `INSERT INTO job_runs (id, job, scheduled_for, kind, instance, started_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (job, scheduled_for) DO NOTHING`,
      [run.id, run.job, run.scheduledFor, run.kind, run.instance, run.startedAt],
    );
    return changes === 1;
  }

  /** Records a run's end (over an `abandoned` mark: a run that ends after all says how). */
  async finish(id: string, end: RunEnd): Promise<void> {
    await this.exec.run("UPDATE job_runs SET finished_at = ?, duration_ms = ?, ok = ?, result = ?, error = ? WHERE id = ?", [
      end.finishedAt,
      end.durationMs,
      end.ok ? 1 : 0,
      end.result === null ? null : JSON.stringify(end.result),
      end.error,
      id,
    ]);
  }

  /**
   * Marks the runs of `job` without an end (and not yet so marked) that started before `startedBefore`
   * failed, with `error`; `finished_at` stays null (when they ended is unknown). Returns how many.
   */
  async abandon(job: string, startedBefore: string, error: string): Promise<number> {
    const { changes } = await this.exec.run("UPDATE job_runs SET ok = 0, error = ? WHERE job = ? AND started_at < ? AND finished_at IS NULL AND ok IS NULL", [
      error,
      job,
      startedBefore,
    ]);
    return changes;
  }

  /** The most recently started run of `job`, finished or not. */
  async latest(job: string): Promise<JobRunView | undefined> {
    const r = await this.exec.get<JobRunRow>(`SELECT ${COLS} FROM job_runs WHERE job = ? ORDER BY started_at DESC, id DESC LIMIT 1`, [job]);
    return r && toView(r);
  }
}
