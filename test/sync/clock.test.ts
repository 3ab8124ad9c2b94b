import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  MAX_CLOCK_ENTRIES,
  SERVER_KEY,
  compareClocks,
  findForgedKey,
  mergeClocks,
  serverWrite,
  validateClock,
  type ClockOrder,
  type VectorClock,
} from "../../src/records/clock";

/** Small key space so generated clocks overlap often. */
const clockArb = fc.dictionary(fc.constantFrom("dev-a", "dev-b", "dev-c", SERVER_KEY), fc.integer({ min: 1, max: 4 }));

function clockOf(n: number): VectorClock {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i}`, 1]));
}

describe("compareClocks", () => {
  const cases: [string, VectorClock, VectorClock, ClockOrder][] = [
    ["both empty", {}, {}, "EQUAL"],
    ["same entries", { a: 2, b: 1 }, { b: 1, a: 2 }, "EQUAL"],
    ["client empty, server not", {}, { a: 1 }, "BEFORE"],
    ["server empty, client not", { a: 1 }, {}, "AFTER"],
    ["client behind on one key", { a: 1, b: 2 }, { a: 2, b: 2 }, "BEFORE"],
    ["client ahead on one key", { a: 3, b: 2 }, { a: 2, b: 2 }, "AFTER"],
    ["missing key counts as 0 (server has extra)", { a: 2 }, { a: 2, server: 1 }, "BEFORE"],
    ["missing key counts as 0 (client has extra)", { a: 2, b: 1 }, { a: 2 }, "AFTER"],
    ["each ahead on a different key", { a: 2, b: 1 }, { a: 1, b: 2 }, "CONCURRENT"],
    ["disjoint keys", { a: 1 }, { b: 1 }, "CONCURRENT"],
    ["client raised own key after a server write", { a: 3, server: 1 }, { a: 2, server: 2 }, "CONCURRENT"],
    ["prototype-like keys are ordinary keys", { constructor: 1 }, {}, "AFTER"],
  ];
  test.each(cases)("%s", (_name, a, b, expected) => {
    expect(compareClocks(a, b)).toBe(expected);
  });

  test("property: BEFORE iff the reverse is AFTER; EQUAL and CONCURRENT are symmetric", () => {
    const mirror: Record<ClockOrder, ClockOrder> = { EQUAL: "EQUAL", BEFORE: "AFTER", AFTER: "BEFORE", CONCURRENT: "CONCURRENT" };
    fc.assert(
      fc.property(clockArb, clockArb, (a, b) => {
        expect(compareClocks(b, a)).toBe(mirror[compareClocks(a, b)]);
      }),
      { numRuns: 500 },
    );
  });

  test("property: a clock is EQUAL to itself and to its key-reordered copy", () => {
    fc.assert(
      fc.property(clockArb, (a) => {
        const reordered = Object.fromEntries(Object.entries(a).reverse());
        expect(compareClocks(a, a)).toBe("EQUAL");
        expect(compareClocks(a, reordered)).toBe("EQUAL");
      }),
    );
  });
});

describe("mergeClocks", () => {
  const cases: [string, VectorClock[], VectorClock][] = [
    ["no input", [], {}],
    ["one empty clock", [{}], {}],
    ["entry-wise max", [{ a: 1, b: 5 }, { a: 3, c: 2 }], { a: 3, b: 5, c: 2 }],
    ["keeps server entry", [{ server: 4 }, { server: 2, a: 1 }], { a: 1, server: 4 }],
  ];
  test.each(cases)("%s", (_name, clocks, expected) => {
    expect(mergeClocks(...clocks)).toEqual(expected);
  });

  test("result keys are sorted whatever the input order", () => {
    expect(Object.keys(mergeClocks({ z: 1, b: 1 }, { a: 1 }))).toEqual(["a", "b", "z"]);
  });

  test("property: result is an upper bound (each input BEFORE or EQUAL) and commutative", () => {
    fc.assert(
      fc.property(clockArb, clockArb, (a, b) => {
        const m = mergeClocks(a, b);
        expect(["BEFORE", "EQUAL"]).toContain(compareClocks(a, m));
        expect(["BEFORE", "EQUAL"]).toContain(compareClocks(b, m));
        expect(JSON.stringify(mergeClocks(b, a))).toBe(JSON.stringify(m));
      }),
    );
  });
});

describe("serverWrite", () => {
  const cases: [string, VectorClock[], VectorClock][] = [
    ["no input starts the server entry", [], { server: 1 }],
    ["empty clock", [{}], { server: 1 }],
    ["increments existing server entry", [{ a: 2, server: 3 }], { a: 2, server: 4 }],
    ["max of inputs, then server + 1", [{ a: 2, server: 1 }, { a: 1, b: 4, server: 3 }], { a: 2, b: 4, server: 4 }],
    ["never touches a device entry", [{ "dev-a": 7 }], { "dev-a": 7, server: 1 }],
  ];
  test.each(cases)("%s", (_name, clocks, expected) => {
    expect(serverWrite(...clocks)).toEqual(expected);
  });

  test("property: the result is strictly newer than every input", () => {
    fc.assert(
      fc.property(fc.array(clockArb, { maxLength: 4 }), (clocks) => {
        const w = serverWrite(...clocks);
        for (const c of clocks) expect(compareClocks(c, w)).toBe("BEFORE");
      }),
      { numRuns: 300 },
    );
  });

  test("property: order independent (same value and same serialization)", () => {
    fc.assert(
      fc.property(
        fc.array(clockArb, { minLength: 1, maxLength: 4 }).chain((clocks) =>
          fc.tuple(fc.constant(clocks), fc.shuffledSubarray(clocks, { minLength: clocks.length })),
        ),
        ([clocks, shuffled]) => {
          expect(JSON.stringify(serverWrite(...shuffled))).toBe(JSON.stringify(serverWrite(...clocks)));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("validateClock", () => {
  const valid: [string, unknown][] = [
    ["empty clock", {}],
    ["one entry", { "dev-a": 1 }],
    ["server entry", { server: 12, "dev-a": 3 }],
    ["largest safe integer", { a: Number.MAX_SAFE_INTEGER }],
    [`exactly ${MAX_CLOCK_ENTRIES} entries`, clockOf(MAX_CLOCK_ENTRIES)],
    ["100-character key", { ["k".repeat(100)]: 1 }],
    ["null-prototype object", Object.assign(Object.create(null), { a: 1 })],
  ];
  test.each(valid)("accepts %s", (_name, value) => {
    const result = validateClock(value);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.clock).toEqual({ ...(value as VectorClock) });
  });

  const invalid: [string, unknown][] = [
    ["null", null],
    ["undefined", undefined],
    ["a number", 3],
    ["a string", "{}"],
    ["an array", [1, 2]],
    ["a Date", new Date()],
    [`${MAX_CLOCK_ENTRIES + 1} entries`, clockOf(MAX_CLOCK_ENTRIES + 1)],
    ["counter 0", { a: 0 }],
    ["counter -1", { a: -1 }],
    ["counter 1.5", { a: 1.5 }],
    ['counter "3"', { a: "3" }],
    ["counter null", { a: null }],
    ["counter NaN", { a: Number.NaN }],
    ["counter Infinity", { a: Number.POSITIVE_INFINITY }],
    ["counter beyond safe integers", { a: Number.MAX_SAFE_INTEGER + 1 }],
    ["empty key", { "": 1 }],
    ["101-character key", { ["k".repeat(101)]: 1 }],
    ["one bad entry among good ones", { a: 1, b: 2, c: 0 }],
  ];
  test.each(invalid)("rejects %s", (_name, value) => {
    const result = validateClock(value);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
  });

  test("a __proto__ key from JSON stays an ordinary entry of the copy", () => {
    const result = validateClock(JSON.parse('{"__proto__": 5, "a": 1}'));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.getPrototypeOf(result.clock)).toBe(Object.prototype);
    expect(Object.keys(result.clock)).toEqual(["__proto__", "a"]);
    expect(compareClocks(result.clock, { a: 1 })).toBe("AFTER");
  });

  test("property: every generated clock is valid and copied unchanged", () => {
    fc.assert(
      fc.property(clockArb, (clock) => {
        expect(validateClock(clock)).toEqual({ ok: true, clock });
      }),
    );
  });
});

describe("findForgedKey", () => {
  const orgDevices = new Set(["dev-a", "dev-b", "dev-c"]);
  const knownDevices = (key: string) => orgDevices.has(key);
  const cases: [string, VectorClock, VectorClock | null, string | null][] = [
    ["create with only the device's own key", { "dev-a": 1 }, null, null],
    ["create with an empty clock", {}, null, null],
    ["create claiming another device's counter", { "dev-a": 1, "dev-b": 1 }, null, "dev-b"],
    ["create claiming a server counter", { "dev-a": 1, server: 1 }, null, SERVER_KEY],
    ["update raising its own key far ahead", { "dev-a": 99, "dev-b": 2 }, { "dev-b": 2 }, null],
    ["update keeping others at or below stored", { "dev-a": 3, "dev-b": 1, server: 2 }, { "dev-b": 2, server: 2 }, null],
    ["update raising another device's counter", { "dev-a": 3, "dev-b": 3 }, { "dev-b": 2 }, "dev-b"],
    ["update raising the server counter", { "dev-a": 3, server: 3 }, { server: 2 }, SERVER_KEY],
    ["update claiming a key the stored clock lacks", { "dev-a": 3, "dev-c": 1 }, { "dev-b": 2 }, "dev-c"],
    ["key that is not an organization device", { "dev-a": 1, "dev-x": 1 }, { "dev-x": 5 }, "dev-x"],
    ["first forged key in sorted order", { "dev-a": 1, "zzz": 1, "dev-c": 9 }, {}, "dev-c"],
  ];
  test.each(cases)("%s", (_name, clock, stored, expected) => {
    expect(findForgedKey(clock, { deviceId: "dev-a", knownDevices, stored })).toBe(expected);
  });

  test("the pushing device's own key is never forged, even if unknown to the lookup", () => {
    expect(findForgedKey({ "dev-new": 5 }, { deviceId: "dev-new", knownDevices, stored: null })).toBeNull();
  });

  test("property: a clock made of the stored clock plus own increments is never forged", () => {
    fc.assert(
      fc.property(clockArb, fc.integer({ min: 1, max: 5 }), (stored, bump) => {
        const clock = { ...stored, "dev-a": (stored["dev-a"] ?? 0) + bump };
        expect(findForgedKey(clock, { deviceId: "dev-a", knownDevices, stored })).toBeNull();
      }),
    );
  });

  test("property: raising any non-own key above the stored clock is found", () => {
    fc.assert(
      fc.property(clockArb, fc.constantFrom("dev-b", "dev-c", SERVER_KEY), (stored, key) => {
        const clock = { ...stored, [key]: (stored[key] ?? 0) + 1 };
        expect(findForgedKey(clock, { deviceId: "dev-a", knownDevices, stored })).toBe(key);
      }),
    );
  });
});
