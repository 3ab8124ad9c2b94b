/** One sample of a metric family: label values and the number. */
export interface Sample {
  labels?: Record<string, string>;
  value: number | null;
  /** Appended to the family name, e.g. `_bucket`, `_sum`, `_count`. */
  suffix?: string;
}

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function formatValue(v: number | null): string {
  if (v === null || Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(",")}}`;
}

/**
 * A metric family in the Prometheus text exposition format (version 0.0.4): HELP, TYPE, then one
 * line per sample. A null value (e.g. a rate over no syncs) is written as NaN.
 */
export function family(name: string, type: "counter" | "gauge" | "histogram", help: string, samples: Sample[]): string {
  const lines = [`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`];
  for (const s of samples) lines.push(`${name}${s.suffix ?? ""}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  return lines.join("\n") + "\n";
}

/** The content type of the exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
