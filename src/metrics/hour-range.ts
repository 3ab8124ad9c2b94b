import { invalid } from "../errors";
import { MIDNIGHT, normalizeDueDate } from "../records/validate";
import { HOUR_BOUND_REASON } from "./model";

/** Which stored hours `GET /api/metrics/hourly` lists: those whose end lies in `(after, upTo]` (a side absent: unbounded). */
export interface HourRange {
  after?: string;
  upTo?: string;
}

/**
 * The instant a bound names, in the stored form (`2026-06-01T10:00:00.000Z`, which compares as text),
 * or null when it is no real date or date-time (`2026-02-30`, `25:00`). A date is its start, UTC.
 * Stored hours end on whole milliseconds, so cutting a finer bound to its millisecond selects the same
 * hours on either side (`> x.0001` and `> x.000`; `<= x.0001` and `<= x.000`).
 */
function instant(raw: string): string | null {
  const normalized = normalizeDueDate(raw);
  return normalized === null || normalized.length > 10 ? normalized : `${normalized}${MIDNIGHT}`;
}

/** The digits of `raw`'s fraction of a second past the millisecond, to the nanosecond (`…00.0001Z`: `000100`; none: `000000`). */
const belowMs = (raw: string) => (/\.\d{3}(\d+)/.exec(raw)?.[1] ?? "").padEnd(6, "0");

/** The range of `?from=&to=`; 422 naming the parameter that is no real date or date-time, or `to` before `from`. */
export function parseHourRange(from: string | undefined, to: string | undefined): HourRange {
  const range: HourRange = {};
  const errors: Record<string, string> = {};
  for (const [name, raw, side] of [["from", from, "after"], ["to", to, "upTo"]] as const) {
    if (raw === undefined) continue;
    const bound = instant(raw);
    if (bound === null) errors[name] = HOUR_BOUND_REASON;
    else range[side] = bound;
  }
  // In order to the nanosecond (offsets are whole minutes, so what lies past the millisecond is the same in UTC).
  const { after, upTo } = range;
  if (after !== undefined && upTo !== undefined && (upTo < after || (upTo === after && belowMs(to!) < belowMs(from!)))) errors.to = "must not be before from";
  if (Object.keys(errors).length) throw invalid(errors);
  return range;
}
