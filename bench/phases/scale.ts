/**
 * Phase 6: the organization grown to `scale` tasks by seeding rows directly (server stopped,
 * then restarted on the same database), then
 *  - a full snapshot pull by a new device while the server's RSS is sampled every 50 ms
 *    (growth = peak during the pull − idle before it), and
 *  - incremental pulls of `incSize` changes at that size, compared with phase 4's p50.
 */
import { check, setTimeBudget } from "../client";
import { newDevice, taskCount, type RunContext } from "../context";
import { percentile, type PhaseResult } from "../report";
import { seedTasks } from "../seed";
import { ServerProcess } from "../server";
import { editThenPull, pullRow, snapshot } from "./pull";

/** Pushes its rows into `out` as each step finishes (so a later failure keeps the earlier rows). */
export async function scalePhases(ctx: RunContext, serveCmd: string[], out: PhaseResult[]): Promise<PhaseResult[]> {
  let t0 = performance.now();
  const elapsed = () => {
    const s = (performance.now() - t0) / 1000;
    t0 = performance.now();
    setTimeBudget(ctx.opts.phaseTimeout); // each step of this phase gets the full budget
    return s;
  };
  const missing = ctx.opts.scale - taskCount(ctx);
  let pool = ctx.taskIds;

  if (missing > 0) {
    const seedDev = await newDevice(ctx.api, "bench-seed");
    await ctx.server.stop();
    const s = await seedTasks(
      { kind: ctx.kind, url: ctx.db.url, orgSlug: ctx.orgSlug, email: ctx.email, deviceId: seedDev.id, projectId: ctx.projectId },
      missing,
      Math.max(1, Math.floor(missing / 20_000)),
      ctx.opts.ids,
    );
    ctx.seeded += s.inserted;
    ctx.seededKnown += s.sample.size;
    for (const [id, fields] of s.sample) ctx.known.set(id, { version: 1, clock: { [seedDev.id]: 1 }, content: { ...fields } });
    pool = [...s.sample.keys()];
    out.push({
      run: ctx.run, db: ctx.kind, phase: "seed", label: `seed ${missing.toLocaleString("en-US")} tasks directly`,
      count: missing, opsPerSec: (missing / s.ms) * 1000, metrics: {},
    });
    ctx.server = await ServerProcess.start(serveCmd, ctx.env);
    ctx.api.base = ctx.server.url;
    out[out.length - 1].elapsed_s = elapsed();
  }
  const size = taskCount(ctx);

  // Snapshot with RSS sampling, after the server has settled. `snapshot` checks the count,
  // uniqueness, and the version, clock and content of every task the bench knows (seeded ones: a sample).
  const reader = await newDevice(ctx.api, "bench-scale-reader");
  await Bun.sleep(500);
  const before = ctx.server.rssMb();
  const stopSampling = ctx.server.sampleRss(50);
  let rss = { peakMb: before, samples: 0 };
  let snap;
  try {
    snap = await snapshot(ctx, reader, size);
  } finally {
    rss = stopSampling();
  }
  out.push({
    run: ctx.run, db: ctx.kind, phase: "snapshot_scale",
    label: `full pull @${size.toLocaleString("en-US")} + RSS`,
    count: snap.records, opsPerSec: (snap.records / snap.ms) * 1000,
    p50: percentile(snap.pages, 50), p99: percentile(snap.pages, 99),
    metrics: { rss_before_mb: before, rss_peak_mb: rss.peakMb, rss_growth_mb: rss.peakMb - before, rss_samples: rss.samples, pages: snap.pages.length },
    elapsed_s: elapsed(),
  });

  // Incremental pulls at scale.
  check(ctx.incP50 !== undefined, "the scale comparison needs phase 4's p50");
  const t = await editThenPull(ctx, reader, pool, ctx.opts.incRounds, ctx.opts.incSize);
  const row = pullRow(ctx, "pull_inc_scale", `incr. pull ${ctx.opts.incSize} @${size.toLocaleString("en-US")} ×${ctx.opts.incRounds}`, t);
  row.metrics.ratio_to_small = row.p50! / ctx.incP50;
  row.metrics.small_tasks = ctx.opts.tasks;
  row.elapsed_s = elapsed();
  out.push(row);
  return out;
}
