/**
 * The compiled binary (dist/taskmgr, from `npm run build`): time from spawn to the first
 * 200 of /api/health, and its idle RSS. The first start on a fresh SQLite file (migrations and
 * the bootstrap admin, whose password hashing is deliberately slow) is reported apart; the
 * target applies to the following restarts on the existing database.
 */
import { existsSync } from "node:fs";
import { median, type PhaseResult } from "../report";
import { childEnv, freshSqlite, ServerProcess } from "../server";

export async function binaryPhase(run: number, binary: string, logLevel: string, restarts = 5): Promise<PhaseResult> {
  const base = { run, db: "-" as const, phase: "binary" as const, label: `binary restart ×${restarts} + idle RSS`, metrics: {} };
  if (!existsSync(binary)) return { ...base, skipped: `${binary} not found (npm run build)` };
  const db = freshSqlite();
  const env = childEnv(db.scratch, logLevel);
  const cmd = [binary, "serve", "--port", "0", "--db", db.url];
  try {
    const first = await ServerProcess.start(cmd, env);
    await first.stop();
    const times: number[] = [];
    let idle = 0;
    for (let i = 0; i < restarts; i++) {
      const server = await ServerProcess.start(cmd, env);
      try {
        times.push(server.startMs);
        if (i === restarts - 1) {
          await Bun.sleep(1000);
          idle = server.rssMb();
        }
      } finally {
        await server.stop();
      }
    }
    const startMs = median(times);
    return {
      ...base,
      p50: startMs,
      p99: Math.max(...times),
      metrics: { start_ms: startMs, start_max_ms: Math.max(...times), first_start_ms: first.startMs, idle_rss_mb: idle },
    };
  } finally {
    await db.drop();
  }
}
