//! Prometheus metrics kept in memory: requests by route and status, a latency histogram per route,
//! and gauges read at scrape time (outbox depth).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
}

impl Metrics {
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l.entry(route.to_string()).or_default();
            let secs = elapsed.as_secs_f64();
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += secs;
            h.total += 1;
        }
    }

    /// Adds to a named counter with one label value (e.g. deliveries by outcome).
    pub fn count(&self, name: &'static str, label: &str, by: u64) {
        if let Ok(mut c) = self.counters.lock() {
            *c.entry((name, label.to_string())).or_default() += by;
        }
    }

    pub fn render(&self, outbox_depth: i64) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP patron_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE patron_http_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((method, route, status), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "patron_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str(
            "# HELP patron_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE patron_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for (route, h) in l.iter() {
                let route = escape(route);
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "patron_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "patron_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.total
                );
                let _ = writeln!(
                    out,
                    "patron_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "patron_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.total
                );
            }
        }
        if let Ok(c) = self.counters.lock() {
            let mut last = "";
            for ((name, label), n) in c.iter() {
                if *name != last {
                    let _ = writeln!(out, "# TYPE {name} counter");
                    last = name;
                }
                let _ = writeln!(out, "{name}{{outcome=\"{}\"}} {n}", escape(label));
            }
        }
        out.push_str(
            "# HELP patron_outbox_depth Notifications recorded and not yet delivered or dead.\n",
        );
        out.push_str("# TYPE patron_outbox_depth gauge\n");
        let _ = writeln!(out, "patron_outbox_depth {outbox_depth}");
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_render_as_prometheus_text() {
        let m = Metrics::default();
        m.observe_request(
            "GET",
            "/v1/members/{external_id}",
            200,
            Duration::from_millis(3),
        );
        let text = m.render(7);
        assert!(text.contains("patron_http_requests_total{method=\"GET\",route=\"/v1/members/{external_id}\",status=\"200\"} 1"));
        assert!(text.contains("patron_http_request_duration_seconds_bucket{route=\"/v1/members/{external_id}\",le=\"0.005\"} 1"));
        assert!(text.contains("patron_outbox_depth 7"));
    }
}
