import type { Executor, SqlValue } from "../../src/db/types";

/** A statement an executor was given, with its parameters. */
export interface SeenStatement {
  sql: string;
  params: SqlValue[];
}

/** An executor over `db` that records in `seen` every statement it reads or writes with (scripts given to `exec` excepted), to check their plans or shapes. */
export function spyOn(db: Executor, seen: SeenStatement[]): Executor {
  const record = (sql: string, params: SqlValue[] | undefined) => seen.push({ sql, params: params ?? [] });
  return {
    dialect: db.dialect,
    all: (sql, params) => (record(sql, params), db.all(sql, params)),
    get: (sql, params) => (record(sql, params), db.get(sql, params)),
    run: (sql, params) => (record(sql, params), db.run(sql, params)),
    rawRows: (sql, params) => (record(sql, params), db.rawRows(sql, params)),
    exec: (sql) => db.exec(sql),
  };
}
