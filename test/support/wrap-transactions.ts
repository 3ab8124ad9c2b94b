import type { Database, Tx } from "../../src/db/types";

/**
 * `db` with its transactions wrapped by `around` (a test's injected failure before COMMIT, a killed
 * connection); every other member is `db`'s own, run on `db` itself. (A wrapper made with
 * `Object.create(db)` ran inherited methods with the wrapper as `this`: state they set — a pool replaced
 * after a lost connection — became the wrapper's while `db` kept the old one.)
 */
export function wrapTransactions(db: Database, around: <T>(fn: (tx: Tx) => Promise<T>, tx: Tx) => Promise<T>): Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "transaction") return <T>(fn: (tx: Tx) => Promise<T>) => target.transaction((tx) => around(fn, tx));
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
