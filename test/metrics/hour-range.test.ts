import { expect, test } from "bun:test";
import { parseHourRange } from "../../src/metrics/hour-range";

const refused = (from: string, to: string) => expect(() => parseHourRange(from, to)).toThrow(expect.objectContaining({ status: 422, details: { fields: { to: "must not be before from" } } }));

// Found by reading hour-range.ts: the order of the bounds was checked on their instants cut to the
// millisecond (which select the same stored hours), so a `to` before `from` by less than a millisecond
// listed nothing with 200 instead of the 422 the README gives for a `to` before `from`.
test("a to before from by less than a millisecond is 422 too, whatever the zones", () => {
  refused("2026-05-31T10:00:00.0002Z", "2026-05-31T10:00:00.0001Z");
  refused("2026-05-31T10:00:00.000999Z", "2026-05-31T10:00:00.00099Z");
  refused("2026-05-31T12:00:00.0002+02:00", "2026-05-31T10:00:00.0001Z");
});

test("bounds equal, or in order, to a fraction of a millisecond are taken, cut to the millisecond", () => {
  expect(parseHourRange("2026-05-31T10:00:00.0001Z", "2026-05-31T10:00:00.00010Z")).toEqual({ after: "2026-05-31T10:00:00.000Z", upTo: "2026-05-31T10:00:00.000Z" });
  expect(parseHourRange("2026-05-31T10:00:00.0001Z", "2026-05-31T10:00:00.0002Z")).toEqual({ after: "2026-05-31T10:00:00.000Z", upTo: "2026-05-31T10:00:00.000Z" });
  expect(parseHourRange("2026-05-31T10:00:00Z", "2026-05-31T10:00:00.0001Z")).toEqual({ after: "2026-05-31T10:00:00.000Z", upTo: "2026-05-31T10:00:00.000Z" });
  expect(parseHourRange("2026-05-31", "2026-05-31T00:00:00.000000001Z")).toEqual({ after: "2026-05-31T00:00:00.000Z", upTo: "2026-05-31T00:00:00.000Z" });
  expect(parseHourRange("2026-05-31T09:59:59.9999Z", "2026-05-31T10:00:00Z")).toEqual({ after: "2026-05-31T09:59:59.999Z", upTo: "2026-05-31T10:00:00.000Z" });
});
