/**
 * A fresh database for an in-process bench (`micro.ts`, `large-records.ts`): a SQLite file in a new
 * temporary folder, or a new Postgres database created through `pgAdmin` (a URL allowed to
 * `CREATE DATABASE`). `dispose` drops the database and removes the folder.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";

export interface ScratchDb {
  /** The database's URL (`sqlite:…` or `postgres://…`). */
  url: string;
  /** The temporary folder (the SQLite file, the data folder and logs of a config). */
  dir: string;
  dispose(): Promise<void>;
}

/** A new scratch database named after `name` (`taskmgr_<name>_…` on Postgres, `<name>.db` on SQLite). */
export async function scratchDb(kind: "sqlite" | "postgres", name: string, pgAdmin: string): Promise<ScratchDb> {
  const dir = mkdtempSync(join(tmpdir(), `taskmgr-${name}-`));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  if (kind === "sqlite") return { url: `sqlite:${join(dir, `${name}.db`)}`, dir, dispose: async () => removeDir() };
  const db = `taskmgr_${name}_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
  const admin = postgres(pgAdmin, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${db}`);
  const u = new URL(pgAdmin);
  u.pathname = `/${db}`;
  return {
    url: u.toString(),
    dir,
    dispose: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await admin.end();
      removeDir();
    },
  };
}
