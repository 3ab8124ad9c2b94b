import { invalid } from "../errors";

/** A look-back window of `GET /api/metrics`, e.g. `24h`. */
export interface MetricsWindow {
  label: string;
  ms: number;
}

const DEFAULT_WINDOW = "24h";
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_MS = 366 * UNIT_MS.d;

/** Parses `30m`, `1h`, `24h`, `7d` … (1 minute to 366 days); anything else is a 422 on `window`. */
export function parseWindow(raw: string | undefined): MetricsWindow {
  const label = raw ?? DEFAULT_WINDOW;
  const m = /^([1-9][0-9]{0,5})([mhd])$/.exec(label);
  const ms = m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : 0;
  if (!m || ms > MAX_MS) throw invalid({ window: "must be a number followed by m, h or d (e.g. 1h, 24h, 7d), at most 366d" });
  return { label, ms };
}
