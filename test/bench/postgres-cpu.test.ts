/**
 * The bench's Postgres CPU figure counts the processes serving the bench's database and the
 * server's shared ones, not the backends of other databases (other people's tests on the machine):
 * which database a backend serves is read from its process title.
 */
import { expect, test } from "bun:test";
import { backendDatabase } from "../../bench/server";

const CASES: [title: string, database: string | null][] = [
  ["/usr/lib/postgresql/15/bin/postgres\0-D\0/var/lib/postgresql/15/main\0", null],
  ["postgres: 15/main: checkpointer", null],
  ["postgres: 15/main: background writer", null],
  ["postgres: 15/main: walwriter", null],
  ["postgres: 15/main: logical replication launcher", null],
  ["postgres: 15/main: autovacuum worker", null],
  ["postgres: 15/main: postgres taskmgr_bench_1 127.0.0.1(43420) idle", "taskmgr_bench_1"],
  ["postgres: 15/main: postgres hx_a957e645 127.0.0.1(41426) idle in transaction", "hx_a957e645"],
  ["postgres: 15/main: postgres template1 [local] SELECT", "template1"],
  ["postgres: postgres taskmgr_bench_1 ::1(5000) UPDATE", "taskmgr_bench_1"],
];

test.each(CASES)("%p serves %p", (title, database) => {
  expect(backendDatabase(title)).toBe(database);
});
