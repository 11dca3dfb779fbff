//! `/metrics` in Prometheus text format. Proxy counters keep Toxiproxy's names and labels
//! but grow as bytes move, not only when a connection ends; runtime metrics describe
//! this process (there is no Go runtime to report). With proxy metrics on, every toxic's
//! proof-of-injection counters are exported too (`shakedown_toxic_*_total`).

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::proxy::Proxy;
use crate::stats::Counter;

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub fn render(
    proxies: &[std::sync::Arc<Proxy>],
    proxy_metrics: bool,
    runtime_metrics: bool,
) -> String {
    let mut out = String::new();
    if proxy_metrics {
        for (metric, help, received) in [
            (
                "toxiproxy_proxy_received_bytes_total",
                "Bytes read from the source of each link.",
                true,
            ),
            (
                "toxiproxy_proxy_sent_bytes_total",
                "Bytes written to the destination of each link.",
                false,
            ),
        ] {
            let _ = writeln!(out, "# HELP {metric} {help}");
            let _ = writeln!(out, "# TYPE {metric} counter");
            for p in proxies {
                let c = p.config();
                for (dir, counters) in [("downstream", &p.shared.down), ("upstream", &p.shared.up)]
                {
                    let v = if received {
                        &counters.received
                    } else {
                        &counters.sent
                    };
                    let _ = writeln!(
                        out,
                        "{metric}{{direction=\"{dir}\",listener=\"{}\",proxy=\"{}\",upstream=\"{}\"}} {}",
                        esc(&c.listen),
                        esc(&p.name),
                        esc(&c.upstream),
                        v.load(Ordering::Relaxed)
                    );
                }
            }
        }
        let spliced = "shakedown_proxy_spliced_bytes_total";
        let _ = writeln!(
            out,
            "# HELP {spliced} Bytes written without a user-space copy (zero-copy path, no toxic active)."
        );
        let _ = writeln!(out, "# TYPE {spliced} counter");
        for p in proxies {
            for (dir, counters) in [("downstream", &p.shared.down), ("upstream", &p.shared.up)] {
                let _ = writeln!(
                    out,
                    "{spliced}{{direction=\"{dir}\",proxy=\"{}\"}} {}",
                    esc(&p.name),
                    counters.spliced.load(Ordering::Relaxed)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP shakedown_proxy_connections Open client connections."
        );
        let _ = writeln!(out, "# TYPE shakedown_proxy_connections gauge");
        for p in proxies {
            let _ = writeln!(
                out,
                "shakedown_proxy_connections{{proxy=\"{}\"}} {}",
                esc(&p.name),
                p.shared.connections.load(Ordering::Relaxed)
            );
        }
        toxic_stats(&mut out, proxies);
        dns_stats(&mut out, proxies);
    }
    if runtime_metrics {
        let (rss, fds) = process_stats();
        let _ = writeln!(
            out,
            "# HELP process_resident_memory_bytes Resident memory size in bytes."
        );
        let _ = writeln!(out, "# TYPE process_resident_memory_bytes gauge");
        let _ = writeln!(out, "process_resident_memory_bytes {rss}");
        let _ = writeln!(
            out,
            "# HELP process_open_fds Number of open file descriptors."
        );
        let _ = writeln!(out, "# TYPE process_open_fds gauge");
        let _ = writeln!(out, "process_open_fds {fds}");
        let _ = writeln!(out, "# HELP shakedown_proxy_build_info Build information.");
        let _ = writeln!(out, "# TYPE shakedown_proxy_build_info gauge");
        let _ = writeln!(
            out,
            "shakedown_proxy_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
    }
    out
}

/// Every toxic's proof-of-injection counters (`crate::stats`), one family per counter,
/// labelled by proxy, toxic, type and the direction the toxic acts on.
fn toxic_stats(out: &mut String, proxies: &[std::sync::Arc<Proxy>]) {
    // family name -> (help, lines), in first-seen order.
    let mut families: Vec<(String, &'static str, Vec<String>)> = Vec::new();
    let mut line = |family: String, help: &'static str, text: String| match families
        .iter_mut()
        .find(|f| f.0 == family)
    {
        Some(f) => f.2.push(text),
        None => families.push((family, help, vec![text])),
    };
    for p in proxies {
        for t in p.toxics() {
            let direction = if t.kind.is_http() {
                "upstream"
            } else {
                t.direction.as_str()
            };
            let labels = format!(
                "direction=\"{direction}\",proxy=\"{}\",toxic=\"{}\",type=\"{}\"",
                esc(&p.name),
                esc(&t.name),
                t.kind.type_name()
            );
            for c in t.stats.counters(&t.kind) {
                match c {
                    Counter::Count(k, n) => {
                        let f = format!("shakedown_toxic_{k}_total");
                        line(
                            f.clone(),
                            "What the toxic did (see docs/proxy.md).",
                            format!("{f}{{{labels}}} {n}"),
                        );
                    }
                    Counter::Millis(k, us) => {
                        let base = k.strip_suffix("_ms").unwrap_or(k);
                        let f = format!("shakedown_toxic_{base}_seconds_total");
                        let secs = us as f64 / 1e6;
                        line(
                            f.clone(),
                            "Delay the toxic injected, summed over delayed chunks.",
                            format!("{f}{{{labels}}} {secs}"),
                        );
                    }
                    Counter::ByStatus(k, by) => {
                        let base = k.strip_suffix("_by_status").unwrap_or(k);
                        let f = format!("shakedown_toxic_{base}_by_status_total");
                        for (status, n) in by {
                            line(
                                f.clone(),
                                "HTTP requests the toxic answered itself, by status.",
                                format!("{f}{{{labels},status=\"{status}\"}} {n}"),
                            );
                        }
                    }
                }
            }
        }
    }
    for (family, help, lines) in families {
        let _ = writeln!(out, "# HELP {family} {help}");
        let _ = writeln!(out, "# TYPE {family} counter");
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    }
}

/// Each DNS proxy's own counters (`crate::dns::DnsCounters`), one family per counter.
fn dns_stats(out: &mut String, proxies: &[std::sync::Arc<Proxy>]) {
    let dns: Vec<_> = proxies
        .iter()
        .filter(|p| p.protocol == crate::toxics::Protocol::Dns)
        .collect();
    let Some(first) = dns.first() else { return };
    for (i, (key, _)) in first.shared.dns.counters().into_iter().enumerate() {
        let f = format!("shakedown_dns_{key}_total");
        let _ = writeln!(
            out,
            "# HELP {f} What the DNS proxy did (see docs/proxy.md)."
        );
        let _ = writeln!(out, "# TYPE {f} counter");
        for p in &dns {
            let v = p.shared.dns.counters().get(i).map_or(0, |c| c.1);
            let _ = writeln!(out, "{f}{{proxy=\"{}\"}} {v}", esc(&p.name));
        }
    }
}

/// RSS bytes and open fds from /proc (zeros where /proc is unavailable).
pub fn process_stats() -> (u64, u64) {
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0);
    let fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    (rss, fds)
}
