import { expect, test } from "bun:test";
import { LoginGate } from "../../src/auth/login-gate";
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
  const a = gate.run(async () => {
    order.push("a starts");
    await first.done;
    return "a";
  });
  const b = gate.run(async () => {
    order.push("b starts");
    await second.done;
    return "b";
  });
  const refused = await gate.run(async () => "c").catch((e: unknown) => e);
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
  const d = gate.run(async () => "d");
  second.finish();
  expect([await b, await d]).toEqual(["b", "d"]);
});

test("a check that fails frees its slot", async () => {
  const gate = new LoginGate(1, 0);
  await expect(gate.run(async () => Promise.reject(new Error("wrong password")))).rejects.toThrow("wrong password");
  expect(await gate.run(async () => "next")).toBe("next");
});
