import { hostname } from "node:os";
import type { Executor } from "../db/types";
import type { Deps } from "../deps";
import { DomainError } from "../errors";
import { newId } from "../ids";
import { currentTick, nextTick } from "./cron";
import { JOBS } from "./built-in";
import type { JobRunView, JobStatusView, JobsHealth } from "./model";
import { JobRunsRepo, type RunEnd } from "./repo";
import type { Job, JobResult, JobsOptions, SyncLogFlusher } from "./types";

/**
 * The longest a run goes on: then it is asked to stop after its current batch (its result says
 * `interrupted`; the next run carries on). So a run without an end recorded {@link ABANDONED_GRACE_MS}
 * after that was never going to get one: the process running it stopped (killed, crashed, its
 * machine lost), and the run is shown as failed, `abandoned`; the job's next run marks it so in
 * `job_runs` (an instance's run in progress is never that old).
 */
const MAX_RUN_MS = 60 * 60_000;
export const ABANDONED_GRACE_MS = 5 * 60_000;

/**
 * Runs jobs and records every run in `job_runs`. Scheduled runs (`tick`) are claimed first, so
 * that when several instances share one database each tick runs on exactly one of them. A run
 * never throws: a failure is logged and recorded, and the next tick tries again.
 */
export class JobsService {
  readonly instance: string;
  private readonly jobs: Job[];
  private readonly batchSize: number;
  private readonly maxRunMs: number;
  /** Ends of this process's runs that the database did not take (by run id), saved at its next run. */
  private readonly unsavedEnds = new Map<string, RunEnd>();

  /** `syncLog`: the process's sync log buffer, which a job may write out before it reads (none: nothing to write). */
  constructor(
    private readonly deps: Deps,
    opts: JobsOptions = {},
    private readonly syncLog: SyncLogFlusher | null = null,
  ) {
    this.jobs = opts.jobs ?? JOBS;
    this.instance = opts.instance ?? `${hostname()}/${process.pid}/${crypto.randomUUID().slice(0, 8)}`;
    this.batchSize = opts.batchSize ?? 500;
    this.maxRunMs = opts.maxRunMs ?? MAX_RUN_MS;
  }

  /** The known jobs, in display order. */
  definitions(): readonly Job[] {
    return this.jobs;
  }

  /** The job named `name`; 404 `not_found` listing the known names otherwise. */
  get(name: string): Job {
    const job = this.jobs.find((j) => j.name === name);
    if (!job) throw new DomainError("not_found", `unknown job "${name}": one of ${this.jobs.map((j) => j.name).join(", ")}`);
    return job;
  }

  /** Every job with its schedule, its latest run and the next scheduled time. */
  async list(): Promise<JobStatusView[]> {
    const repo = new JobRunsRepo(this.deps.db);
    const now = this.deps.clock.now();
    const out: JobStatusView[] = [];
    for (const job of this.jobs) {
      out.push({
        name: job.name,
        schedule: job.schedule,
        description: job.description,
        last_run: this.asSeenAt(await repo.latest(job.name), now),
        next_run_at: nextTick(job.schedule, now)?.toISOString() ?? null,
      });
    }
    return out;
  }

  /** Per job, when its latest run started and whether it succeeded (`GET /api/health`, through `exec`: the database's monitor). */
  async health(exec: Executor = this.deps.db): Promise<JobsHealth> {
    const repo = new JobRunsRepo(exec);
    const now = this.deps.clock.now();
    const out: JobsHealth = {};
    for (const job of this.jobs) {
      const last = this.asSeenAt(await repo.latest(job.name), now);
      out[job.name] = { last_run_at: last?.started_at ?? null, ok: last?.ok ?? null };
    }
    return out;
  }

  /** `run` as it stands at `now`: failed (`abandoned`) when it has no end long after {@link MAX_RUN_MS}. */
  private asSeenAt(run: JobRunView | undefined, now: Date): JobRunView | null {
    if (!run) return null;
    if (run.finished_at !== null || now.getTime() - Date.parse(run.started_at) < this.abandonedAfterMs) return run;
    return { ...run, ok: false, error: this.abandonedError() };
  }

  /** How long after its start a run without an end is abandoned: {@link MAX_RUN_MS} and {@link ABANDONED_GRACE_MS}. */
  private get abandonedAfterMs(): number {
    return this.maxRunMs + ABANDONED_GRACE_MS;
  }

  private abandonedError(): string {
    return `abandoned: no end recorded ${Math.round(this.abandonedAfterMs / 60_000)} minutes after it started (the process running it stopped)`;
  }

  /**
   * Before a run of `job`: saves the ends this process could not save (the database unreachable
   * then), and marks the job's runs without an end past {@link abandonedAfterMs} failed, abandoned
   * (their process stopped: no instance's run in progress is that old). Never throws: what fails
   * here is logged, and tried again at the next run.
   */
  private async settleEarlierRuns(repo: JobRunsRepo, job: Job, now: Date): Promise<void> {
    const { log } = this.deps;
    for (const [id, end] of this.unsavedEnds) {
      try {
        await repo.finish(id, end);
        this.unsavedEnds.delete(id);
      } catch (err) {
        log.error("job_record_failed", { run_id: id, error: message(err) });
        return;
      }
    }
    try {
      const abandoned = await repo.abandon(job.name, new Date(now.getTime() - this.abandonedAfterMs).toISOString(), this.abandonedError());
      if (abandoned > 0) log.warn("job_runs_abandoned", { job: job.name, runs: abandoned });
    } catch (err) {
      log.error("job_record_failed", { job: job.name, error: message(err) });
    }
  }

  /**
   * Runs `name` now (`taskmgr jobs run`), whatever the schedule; the recorded run says whether it
   * succeeded. `signal` asks it to stop after its current batch (its result then says `interrupted`).
   */
  async run(name: string, signal?: AbortSignal): Promise<JobRunView> {
    const job = this.get(name);
    return (await this.execute(job, null, signal))!;
  }

  /**
   * The scheduled run of `name` for its latest tick at or before `at` (default: now); the scheduler
   * calls this when a tick fires. Returns null when another instance claimed that tick, or when
   * the claim itself failed (logged). Never throws.
   */
  async tick(name: string, opts: { at?: Date; signal?: AbortSignal } = {}): Promise<JobRunView | null> {
    try {
      const job = this.get(name);
      const tick = currentTick(job.schedule, opts.at ?? this.deps.clock.now());
      if (!tick) return null;
      return await this.execute(job, tick, opts.signal);
    } catch (err) {
      this.deps.log.error("job_tick_failed", { job: name, error: message(err) });
      return null;
    }
  }

  private async execute(job: Job, scheduledFor: Date | null, signal: AbortSignal = new AbortController().signal): Promise<JobRunView | null> {
    const { db, config, clock, log } = this.deps;
    const repo = new JobRunsRepo(db);
    const now = clock.now();
    const run: JobRunView = {
      id: newId(),
      job: job.name,
      kind: scheduledFor ? "schedule" : "manual",
      scheduled_for: scheduledFor?.toISOString() ?? null,
      instance: this.instance,
      started_at: now.toISOString(),
      finished_at: null,
      duration_ms: null,
      ok: null,
      result: null,
      error: null,
    };
    const claimed = await repo.claim({
      id: run.id,
      job: run.job,
      kind: run.kind,
      scheduledFor: run.scheduled_for,
      instance: run.instance,
      startedAt: run.started_at,
    });
    if (!claimed) {
      log.debug("job_skipped", { job: job.name, scheduled_for: run.scheduled_for, reason: "claimed by another instance" });
      return null;
    }
    await this.settleEarlierRuns(repo, job, now);
    const t0 = performance.now();
    let result: JobResult | null = null;
    let error: string | null = null;
    let stack: string | undefined;
    try {
      const stop = AbortSignal.any([signal, AbortSignal.timeout(this.maxRunMs)]);
      const flushSyncLog = async () => this.syncLog?.settleLog(stop);
      result = await job.run({ db, config, log, now, scheduledFor, batchSize: this.batchSize, signal: stop, flushSyncLog });
    } catch (err) {
      error = message(err);
      stack = err instanceof Error ? err.stack : undefined;
    }
    const durationMs = Math.round((performance.now() - t0) * 100) / 100;
    const fields = { job: job.name, run_id: run.id, kind: run.kind, scheduled_for: run.scheduled_for, duration_ms: durationMs };
    if (error === null) log.info("job_finished", { ...fields, ...result });
    else log.error("job_failed", { ...fields, error, stack });
    Object.assign(run, { finished_at: clock.now().toISOString(), duration_ms: durationMs, ok: error === null, result, error });
    const end: RunEnd = { finishedAt: run.finished_at!, durationMs, ok: error === null, result, error };
    try {
      await repo.finish(run.id, end);
    } catch (err) {
      this.unsavedEnds.set(run.id, end);
      log.error("job_record_failed", { job: job.name, run_id: run.id, error: message(err), retry: "at this process's next run" });
    }
    return run;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}
