import { Argument, type Command } from "commander";
import { JOBS } from "../src/jobs/built-in";
import type { JobRunView, JobStatusView } from "../src/jobs/model";
import { withRuntime } from "./context";
import { CliError } from "./failure";
import { printList, printRecord } from "./output";

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
    .action((name: string, opts: { json?: boolean }, self: Command) =>
      withRuntime(self, async ({ services }) => {
        const run = await services.jobs.run(name);
        const summary = run.ok
          ? `${run.job}: ok in ${run.duration_ms} ms${run.result ? ` (${formatResult(run.result)})` : ""}`
          : `${run.job}: failed after ${run.duration_ms} ms`;
        printRecord(run, opts.json === true, summary);
        if (!run.ok) throw new CliError(`job ${run.job} failed: ${run.error}`);
      }),
    );
}
