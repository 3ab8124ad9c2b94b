import { describe, expect, test } from "bun:test";
import { chunksResponse } from "../../src/http/chunks-response";

const bytes = (s: string) => Buffer.from(s);
const init = { headers: { "content-type": "application/json" } };

describe("chunksResponse", () => {
  test("joins the chunks in order, with the given headers", async () => {
    const res = chunksResponse([bytes('{"a":'), bytes("[1,"), bytes("2]}")], init);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.text()).toBe('{"a":[1,2]}');
  });

  test("answers built one after the other keep their own bodies though they share one buffer", async () => {
    const first = chunksResponse([bytes("x".repeat(1000))], init);
    const second = chunksResponse([bytes("y".repeat(300)), bytes("z".repeat(400))], init); // fits in the buffer the first grew
    const third = chunksResponse([bytes("w")], init);
    // Read only after all three were built: each must hold a copy, not a view of the shared buffer.
    expect(await first.text()).toBe("x".repeat(1000));
    expect(await second.text()).toBe("y".repeat(300) + "z".repeat(400));
    expect(await third.text()).toBe("w");
  });

  test("a body larger than the shared buffer may grow to, and an empty one", async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 0x61);
    const res = chunksResponse([bytes("["), big, bytes("]")], init);
    const after = chunksResponse([bytes("small")], init);
    const body = new Uint8Array(await res.arrayBuffer());
    expect(body.byteLength).toBe(big.byteLength + 2);
    expect(body[0]).toBe(0x5b);
    expect(body[1 + 1234567]).toBe(0x61);
    expect(body[body.byteLength - 1]).toBe(0x5d);
    expect(await after.text()).toBe("small");
    expect(await chunksResponse([], init).text()).toBe("");
  });
});
