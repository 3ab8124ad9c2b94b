import { Cron } from "croner";
import type { Logger } from "../log/logger";
import { CRON_OPTIONS } from "./cron";
import type { JobsService } from "./service";

/**
 * Schedules every job of `jobs` with croner (UTC patterns); only `taskmgr serve` calls this. Each
 * tick goes through `jobs.tick` (time from the service's clock), which claims the tick in `job_runs` (one
 * instance runs it), records and logs the run, and never throws. A run still going when the next
 * tick fires makes that tick skip on this instance (croner `protect`).
 *
 * Returns `stop`: no new runs start, runs in progress are asked to stop after their current
 * batch, and it resolves once they have finished. `stop.unschedule()` only ends the schedule (no new
 * runs), leaving the runs in progress to go on.
 */
export function startJobs(jobs: JobsService, log: Logger): StopJobs {
  const running = new Set<Promise<unknown>>();
  const shutdown = new AbortController();
  const crons = jobs.definitions().map(
    (job) =>
      new Cron(
        job.schedule,
        {
          ...CRON_OPTIONS,
          protect: () => log.warn("job_overlap_skipped", { job: job.name }),
          catch: (err) => log.error("job_scheduler_error", { job: job.name, error: err instanceof Error ? err.message : String(err) }),
        },
        async () => {
          const run = jobs.tick(job.name, { signal: shutdown.signal });
          running.add(run);
          try {
            await run;
          } finally {
            running.delete(run);
          }
        },
      ),
  );
  log.info("jobs_scheduled", {
    jobs: crons.map((c, i) => ({ job: jobs.definitions()[i]!.name, next_run_at: c.nextRun()?.toISOString() ?? null })),
  });
  const unschedule = () => {
    for (const c of crons) c.stop();
  };
  const stop = async () => {
    unschedule();
    shutdown.abort();
    await Promise.allSettled([...running]);
  };
  return Object.assign(stop, { unschedule });
}

/** What {@link startJobs} returns: ends the schedule and stops the runs in progress; `unschedule` only ends the schedule. */
export type StopJobs = (() => Promise<void>) & { unschedule(): void };
