import { Argument, type Command } from "commander";
import { JOBS } from "../src/jobs/built-in";
import type { JobRunView, JobStatusView } from "../src/jobs/model";
import { withRuntime } from "./context";
import { CliError } from "./failure";
import { printList, printRecord } from "./output";
import { StopSignals } from "./stop-signals";

/** A run's result as `key=value` pairs, e.g. `tasks=3 comments=1 batches=2`. */
function formatResult(result: JobRunView["result"]): string {
  if (!result) return "";
  return Object.entries(result)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

function lastRunState(run: JobRunView | null): string | null {
  if (!run) return null;
  if (run.ok === null) return "running";
  return run.ok ? "ok" : `failed: ${run.error ?? ""}`;
}

/**
 * SIGINT, SIGTERM and SIGHUP for `taskmgr jobs run NAME`: the first asks the run to stop after its
 * current batch (`asked` is aborted), so that it is recorded as ended, `interrupted`, rather than left
 * `running` until it counts as abandoned; insisting (a second signal a second or more later) exits at once.
 */
function stopSignalsOfRun(name: string): { signals: StopSignals; asked: AbortSignal } {
  const asked = new AbortController();
  const signals = new StopSignals((signal) => {
    process.stderr.write(`error: stopped by ${signal} at once: the run of ${name} was cut off (jobs list shows it running until it counts as abandoned)\n`);
    process.exit(1);
  });
  void signals.first.then(() => asked.abort());
  return { signals, asked: asked.signal };
}

/** `taskmgr jobs list [--json]`, `taskmgr jobs run NAME [--json]`. */
export function registerJobs(program: Command): void {
  const jobs = program.command("jobs").description("scheduled maintenance jobs (run by `taskmgr serve`)");

  jobs
    .command("list")
    .description("list jobs with their schedule (UTC), last run and result, and next run")
    .option("--json", "print a JSON array")
    .action((opts: { json?: boolean }, self: Command) =>
      withRuntime(self, async ({ services }) => {
        printList(
          await services.jobs.list(),
          [
            { header: "NAME", value: (j: JobStatusView) => j.name },
            { header: "SCHEDULE", value: (j: JobStatusView) => j.schedule },
            { header: "LAST_RUN", value: (j: JobStatusView) => j.last_run?.started_at },
            { header: "STATUS", value: (j: JobStatusView) => lastRunState(j.last_run) },
            { header: "RESULT", value: (j: JobStatusView) => formatResult(j.last_run?.result ?? null) },
            { header: "NEXT_RUN", value: (j: JobStatusView) => j.next_run_at },
          ],
          opts.json === true,
        );
      }),
    );

  jobs
    .command("run")
    .description("run a job now, whatever its schedule; exit status 1 when it fails")
    .addArgument(new Argument("<name>", "job name").choices(JOBS.map((j) => j.name)))
    .option("--json", "print the recorded run as JSON")
    .action((name: string, opts: { json?: boolean }, self: Command) => {
      const stop = stopSignalsOfRun(name);
      return withRuntime(self, async ({ services }) => {
        const run = await services.jobs.run(name, stop.asked);
        const summary = run.ok
          ? `${run.job}: ok in ${run.duration_ms} ms${run.result ? ` (${formatResult(run.result)})` : ""}`
          : `${run.job}: failed after ${run.duration_ms} ms`;
        printRecord(run, opts.json === true, summary);
        if (!run.ok) throw new CliError(`job ${run.job} failed: ${run.error}`);
        if (stop.signals.signal !== null && run.result?.interrupted === true) {
          throw new CliError(`stopped by ${stop.signals.signal}: ${run.job} stopped after its current batch, with part of its work done; run it again to carry on`);
        }
      });
    });
}
