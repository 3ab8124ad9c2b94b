import { expect, test } from "bun:test";
import { LOGINS_PER_CLIENT, LoginGate } from "../../src/auth/login-gate";
import { DomainError } from "../../src/errors";

/** A job whose end the test decides. */
function pending() {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  return { finish, done };
}

test("at most `running` checks at once and `waiting` queued; beyond, 503 with Retry-After at once; a slot passes to the next in line", async () => {
  const gate = new LoginGate(1, 1);
  const order: string[] = [];
  const first = pending();
  const second = pending();
  const a = gate.run("1.1.1.1", async () => {
    order.push("a starts");
    await first.done;
    return "a";
  });
  const b = gate.run("2.2.2.2", async () => {
    order.push("b starts");
    await second.done;
    return "b";
  });
  const refused = await gate.run("3.3.3.3", async () => "c").catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(DomainError);
  expect(refused).toMatchObject({ code: "unavailable", status: 503, details: { retry_after: 1 } });
  expect((refused as DomainError).headers).toEqual({ "Retry-After": "1" });
  await Bun.sleep(5);
  expect(order).toEqual(["a starts"]);
  first.finish();
  expect(await a).toBe("a");
  await Bun.sleep(5);
  expect(order).toEqual(["a starts", "b starts"]);
  // b holds the one slot; the queue has room again.
  const d = gate.run("3.3.3.3", async () => "d");
  second.finish();
  expect([await b, await d]).toEqual(["b", "d"]);
});

test("a check that fails frees its slot", async () => {
  const gate = new LoginGate(1, 0);
  await expect(gate.run("1.1.1.1", async () => Promise.reject(new Error("wrong password")))).rejects.toThrow("wrong password");
  expect(await gate.run("1.1.1.1", async () => "next")).toBe("next");
});

// Found by security review: the queue was shared by every client, so that one client holding 65
// logins in flight (unknown emails, no credentials needed) had every other login of the server
// answered 503 for as long as it kept them coming.
test("one client fills at most its share of the queue: beyond it, 503 for that client alone, and another client's login still gets in", async () => {
  const gate = new LoginGate(1, 64, 3);
  const hold = pending();
  const flood = Array.from({ length: 3 }, () => gate.run("6.6.6.6", () => hold.done.then(() => "flood")));
  const over = await gate.run("6.6.6.6", async () => "over").catch((e: unknown) => e);
  expect(over).toMatchObject({ code: "unavailable", status: 503 });
  const other = gate.run("7.7.7.7", async () => "other");
  hold.finish();
  expect(await Promise.all(flood)).toEqual(["flood", "flood", "flood"]);
  expect(await other).toBe("other");
  // Its logins done, the client has its whole share again.
  expect(await Promise.all(Array.from({ length: 3 }, () => gate.run("6.6.6.6", async () => "again")))).toEqual(["again", "again", "again"]);
});

test("the default share leaves most of the queue to other clients", () => {
  expect(LOGINS_PER_CLIENT).toBeGreaterThanOrEqual(2);
  expect(LOGINS_PER_CLIENT).toBeLessThanOrEqual(64 / 4);
});
