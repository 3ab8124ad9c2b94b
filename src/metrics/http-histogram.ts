import { family, type Sample } from "./prometheus";

/** Upper bounds (seconds) of the request latency histogram buckets. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  labels: { method: string; route: string; status: string };
  count: number;
  sum: number;
  buckets: number[];
}

/**
 * In-process HTTP metrics of this instance: request counts and latency histograms by method,
 * route (the registered pattern, e.g. `/api/tasks/:id`, so that ids do not multiply series) and
 * status. Fed by the app's after-response hook; reset when the process restarts, as Prometheus expects.
 */
export class HttpMetrics {
  private readonly series = new Map<string, Series>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { method, route, status: String(status) }, count: 0, sum: 0, buckets: LATENCY_BUCKETS.map(() => 0) };
      this.series.set(key, s);
    }
    s.count++;
    s.sum += seconds;
    LATENCY_BUCKETS.forEach((le, i) => {
      if (seconds <= le) s.buckets[i]!++;
    });
  }

  /** The two families in exposition format. */
  exposition(): string {
    const all = [...this.series.values()].sort((a, b) => (a.labels.route + a.labels.status).localeCompare(b.labels.route + b.labels.status));
    const counts: Sample[] = all.map((s) => ({ labels: s.labels, value: s.count }));
    const histogram: Sample[] = all.flatMap((s) => [
      ...LATENCY_BUCKETS.map((le, i) => ({ suffix: "_bucket", labels: { ...s.labels, le: String(le) }, value: s.buckets[i]! })),
      { suffix: "_bucket", labels: { ...s.labels, le: "+Inf" }, value: s.count },
      { suffix: "_sum", labels: s.labels, value: Math.round(s.sum * 1e6) / 1e6 },
      { suffix: "_count", labels: s.labels, value: s.count },
    ]);
    return (
      family("taskmgr_http_requests_total", "counter", "HTTP requests answered by this instance.", counts) +
      family("taskmgr_http_request_duration_seconds", "histogram", "HTTP request latency on this instance.", histogram)
    );
  }
}
