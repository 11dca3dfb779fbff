//! The run's metrics as `prometheus_client` 0.26 writes its registry (text format 0.0.4,
//! what `push_to_gateway` sends and a scrape reads), and the Pushgateway URL it pushes to.
//!
//! The families, their help texts, the label names (sorted, as `generate_latest` writes
//! them), the `_total`/`_created` samples and the histogram's default buckets are
//! upstream's, so dashboards built on the reference's metrics keep working. One family
//! is ours: `chaostoolkit_activity_outcome_total`, the activities' outcomes by type and
//! status (docs/compatibility.md).

use experiment::pyrepr::py_float;
use std::collections::BTreeMap;

use crate::client::base64_urlsafe;

/// `prometheus_client`'s default histogram buckets (`+Inf` last, implied).
pub const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The statuses of `chaostoolkit_experiment_status`, in upstream's order.
pub const STATUSES: [&str; 4] = ["completed", "failed", "aborted", "interrupted"];

/// The labels every sample carries (upstream's `PrometheusCollector.labels`).
#[derive(Debug, Clone, PartialEq)]
pub struct Labels {
    pub lib_version: String,
    pub trace_id: String,
    pub experiment_ref: String,
}

/// A histogram's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Per bucket of [`BUCKETS`] then `+Inf`: how many observations fell in it (not
    /// cumulative; written cumulative).
    pub counts: [u64; 15],
    pub sum: f64,
    pub created: f64,
}

impl Histogram {
    pub fn new(created: f64) -> Self {
        Histogram {
            counts: [0; 15],
            sum: 0.0,
            created,
        }
    }

    pub fn observe(&mut self, value: f64) {
        let bucket = BUCKETS
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(BUCKETS.len());
        self.counts[bucket] += 1;
        self.sum += value;
    }
}

/// What the collector holds; a family with no labelled child yet has no sample, as in
/// `prometheus_client`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Families {
    pub status: Option<String>,
    /// The deviated counter: value and creation time.
    pub deviated: Option<(f64, f64)>,
    pub in_progress: Option<f64>,
    pub duration: Option<f64>,
    pub duration_dist: Option<Histogram>,
    /// Ours: activity outcomes by (activity type, status).
    pub activities: BTreeMap<(String, String), f64>,
}

/// The registry as `generate_latest` writes it.
pub fn render(labels: &Labels, families: &Families) -> String {
    let mut out = String::new();
    let base = [
        ("source", "chaostoolkit"),
        ("chaostoolkit_lib_version", labels.lib_version.as_str()),
        ("chaostoolkit_run_trace_id", labels.trace_id.as_str()),
        (
            "chaostoolkit_experiment_ref",
            labels.experiment_ref.as_str(),
        ),
    ];
    let sample = |out: &mut String, name: &str, extra: &[(&str, &str)], value: f64| {
        let mut all: Vec<(&str, &str)> = base.iter().chain(extra).copied().collect();
        all.sort();
        let labels: Vec<String> = all
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        out.push_str(&format!(
            "{name}{{{}}} {}\n",
            labels.join(","),
            go_float(value)
        ));
    };
    let header = |out: &mut String, name: &str, help: &str, kind: &str| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
    };

    const STATUS: &str = "chaostoolkit_experiment_status";
    header(
        &mut out,
        STATUS,
        "Chaos Toolkit experiment runs status",
        "gauge",
    );
    if let Some(current) = &families.status {
        for state in STATUSES {
            let value = if state == current { 1.0 } else { 0.0 };
            sample(&mut out, STATUS, &[(STATUS, state)], value);
        }
    }

    const DEVIATED: &str = "chaostoolkit_deviated_experiment";
    let help = "Chaos Toolkit deviated experiments";
    header(&mut out, &format!("{DEVIATED}_total"), help, "counter");
    if let Some((value, created)) = families.deviated {
        sample(&mut out, &format!("{DEVIATED}_total"), &[], value);
        header(&mut out, &format!("{DEVIATED}_created"), help, "gauge");
        sample(&mut out, &format!("{DEVIATED}_created"), &[], created);
    }

    const IN_PROGRESS: &str = "chaostoolkit_inprogress_experiment";
    header(
        &mut out,
        IN_PROGRESS,
        "Chaos Toolkit experiments in progress",
        "gauge",
    );
    if let Some(value) = families.in_progress {
        sample(&mut out, IN_PROGRESS, &[], value);
    }

    const DURATION: &str = "chaostoolkit_experiment_duration";
    header(
        &mut out,
        DURATION,
        "Chaos Toolkit experiment duration",
        "gauge",
    );
    if let Some(value) = families.duration {
        sample(&mut out, DURATION, &[], value);
    }

    const DIST: &str = "chaostoolkit_experiment_duration_dist";
    let help = "Chaos Toolkit experiment duration distribution";
    header(&mut out, DIST, help, "histogram");
    if let Some(h) = &families.duration_dist {
        let mut cumulative = 0;
        for (i, count) in h.counts.iter().enumerate() {
            cumulative += count;
            let le = BUCKETS.get(i).map_or("+Inf".to_string(), |b| go_float(*b));
            sample(
                &mut out,
                &format!("{DIST}_bucket"),
                &[("le", &le)],
                cumulative as f64,
            );
        }
        sample(&mut out, &format!("{DIST}_count"), &[], cumulative as f64);
        sample(&mut out, &format!("{DIST}_sum"), &[], h.sum);
        header(&mut out, &format!("{DIST}_created"), help, "gauge");
        sample(&mut out, &format!("{DIST}_created"), &[], h.created);
    }

    const ACTIVITIES: &str = "chaostoolkit_activity_outcome_total";
    header(
        &mut out,
        ACTIVITIES,
        "Chaos Toolkit activities run, by type and status",
        "counter",
    );
    for ((kind, status), value) in &families.activities {
        let extra = [
            ("activity_type", kind.as_str()),
            ("status", status.as_str()),
        ];
        sample(&mut out, ACTIVITIES, &extra, *value);
    }
    out
}

/// A label value escaped as the text format wants it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('"', "\\\"")
}

/// `prometheus_client`'s `floatToGoString`: Python's `repr`, with Go's earlier switch to
/// exponents for large positive values.
pub fn go_float(d: f64) -> String {
    if d == f64::INFINITY {
        return "+Inf".into();
    }
    if d == f64::NEG_INFINITY {
        return "-Inf".into();
    }
    if d.is_nan() {
        return "NaN".into();
    }
    let s = py_float(d);
    match s.find('.') {
        Some(dot) if d > 0.0 && dot > 6 => {
            let mantissa = format!("{}.{}{}", &s[..1], &s[1..dot], &s[dot + 1..]);
            let mantissa = mantissa.trim_end_matches(['0', '.']);
            format!("{mantissa}e+0{}", dot - 1)
        }
        _ => s,
    }
}

/// Where `push_to_gateway` PUTs: `http://` added when the URL has no http(s) scheme,
/// trailing slashes dropped, then `/metrics/job/<job>` and the grouping key sorted by name,
/// each value escaped as `prometheus_client` does (base64 for `/`, spaces and empties).
pub fn push_url(gateway: &str, job: &str, grouping_key: &[(String, String)]) -> String {
    let scheme_ok = gateway
        .split_once("://")
        .is_some_and(|(scheme, _)| scheme == "http" || scheme == "https");
    let gateway = if scheme_ok {
        gateway.to_string()
    } else {
        format!("http://{gateway}")
    };
    let mut url = format!("{}/metrics", gateway.trim_end_matches('/'));
    let mut pairs: Vec<&(String, String)> = grouping_key.iter().collect();
    pairs.sort();
    for (k, v) in std::iter::once(&("job".to_string(), job.to_string())).chain(pairs) {
        let (k, v) = escape_grouping(k, v);
        url.push_str(&format!("/{k}/{v}"));
    }
    url
}

fn escape_grouping(k: &str, v: &str) -> (String, String) {
    if v.is_empty() {
        (format!("{k}@base64"), "=".into())
    } else if v.contains(['/', ' ']) {
        (format!("{k}@base64"), base64_urlsafe(v.as_bytes()))
    } else {
        (k.to_string(), quote_plus(v))
    }
}

/// Python's `urllib.parse.quote_plus`.
fn quote_plus(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        Labels {
            lib_version: "1.44.0".into(),
            trace_id: "abc".into(),
            experiment_ref: "e36976047d9a739accdc8744".into(),
        }
    }

    const L: &str = r#"chaostoolkit_experiment_ref="e36976047d9a739accdc8744",chaostoolkit_lib_version="1.44.0",chaostoolkit_run_trace_id="abc",source="chaostoolkit""#;

    #[test]
    fn before_the_experiment_only_the_in_progress_gauge_has_a_sample() {
        let families = Families {
            in_progress: Some(1.0),
            ..Families::default()
        };
        // generate_latest(collector.registry) after `started()`, chaostoolkit-prometheus
        // 0.6.0 with prometheus_client 0.26.0, plus our activity family.
        let expected = format!(
            "# HELP chaostoolkit_experiment_status Chaos Toolkit experiment runs status\n\
             # TYPE chaostoolkit_experiment_status gauge\n\
             # HELP chaostoolkit_deviated_experiment_total Chaos Toolkit deviated experiments\n\
             # TYPE chaostoolkit_deviated_experiment_total counter\n\
             # HELP chaostoolkit_inprogress_experiment Chaos Toolkit experiments in progress\n\
             # TYPE chaostoolkit_inprogress_experiment gauge\n\
             chaostoolkit_inprogress_experiment{{{L}}} 1.0\n\
             # HELP chaostoolkit_experiment_duration Chaos Toolkit experiment duration\n\
             # TYPE chaostoolkit_experiment_duration gauge\n\
             # HELP chaostoolkit_experiment_duration_dist Chaos Toolkit experiment duration distribution\n\
             # TYPE chaostoolkit_experiment_duration_dist histogram\n\
             # HELP chaostoolkit_activity_outcome_total Chaos Toolkit activities run, by type and status\n\
             # TYPE chaostoolkit_activity_outcome_total counter\n"
        );
        assert_eq!(render(&labels(), &families), expected);
    }

    #[test]
    fn after_the_experiment_every_family_is_written_as_upstream_writes_it() {
        let mut dist = Histogram::new(1796196859.5808918);
        dist.observe(1.25);
        let mut families = Families {
            status: Some("completed".into()),
            deviated: Some((1.0, 1796196859.5808537)),
            in_progress: Some(0.0),
            duration: Some(1.25),
            duration_dist: Some(dist),
            ..Families::default()
        };
        families
            .activities
            .insert(("probe".into(), "succeeded".into()), 2.0);
        let text = render(&labels(), &families);
        let status = r#"chaostoolkit_experiment_status{chaostoolkit_experiment_ref="e36976047d9a739accdc8744",chaostoolkit_experiment_status="completed",chaostoolkit_lib_version="1.44.0",chaostoolkit_run_trace_id="abc",source="chaostoolkit"} 1.0"#;
        for line in [
            status,
            &format!("chaostoolkit_deviated_experiment_total{{{L}}} 1.0"),
            "# TYPE chaostoolkit_deviated_experiment_created gauge",
            &format!("chaostoolkit_deviated_experiment_created{{{L}}} 1.7961968595808537e+09"),
            &format!("chaostoolkit_inprogress_experiment{{{L}}} 0.0"),
            &format!("chaostoolkit_experiment_duration{{{L}}} 1.25"),
            r#"chaostoolkit_experiment_duration_dist_bucket{chaostoolkit_experiment_ref="e36976047d9a739accdc8744",chaostoolkit_lib_version="1.44.0",chaostoolkit_run_trace_id="abc",le="1.0",source="chaostoolkit"} 0.0"#,
            r#"chaostoolkit_experiment_duration_dist_bucket{chaostoolkit_experiment_ref="e36976047d9a739accdc8744",chaostoolkit_lib_version="1.44.0",chaostoolkit_run_trace_id="abc",le="2.5",source="chaostoolkit"} 1.0"#,
            r#"chaostoolkit_experiment_duration_dist_bucket{chaostoolkit_experiment_ref="e36976047d9a739accdc8744",chaostoolkit_lib_version="1.44.0",chaostoolkit_run_trace_id="abc",le="+Inf",source="chaostoolkit"} 1.0"#,
            &format!("chaostoolkit_experiment_duration_dist_count{{{L}}} 1.0"),
            &format!("chaostoolkit_experiment_duration_dist_sum{{{L}}} 1.25"),
            &format!("chaostoolkit_experiment_duration_dist_created{{{L}}} 1.7961968595808918e+09"),
            r#"chaostoolkit_activity_outcome_total{activity_type="probe",chaostoolkit_experiment_ref="e36976047d9a739accdc8744",chaostoolkit_lib_version="1.44.0",chaostoolkit_run_trace_id="abc",source="chaostoolkit",status="succeeded"} 2.0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        assert_eq!(text.matches("chaostoolkit_experiment_status{").count(), 4);
        assert_eq!(text.matches("_bucket{").count(), 15);
    }

    #[test]
    fn floats_are_written_as_prometheus_client_writes_them() {
        assert_eq!(go_float(1.0), "1.0");
        assert_eq!(go_float(0.005), "0.005");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(1796196859.5808537), "1.7961968595808537e+09");
        assert_eq!(go_float(f64::INFINITY), "+Inf");
    }

    #[test]
    fn push_urls_escape_the_grouping_key_as_prometheus_client() {
        let key = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            push_url(
                "http://localhost:9091/",
                "chaostoolkit",
                &key(&[("chaostoolkit_experiment_ref", "e369")])
            ),
            "http://localhost:9091/metrics/job/chaostoolkit/chaostoolkit_experiment_ref/e369"
        );
        assert_eq!(
            push_url(
                "127.0.0.1:9091",
                "my job",
                &key(&[("z", "a/b"), ("a", ""), ("m", "x+y?")])
            ),
            "http://127.0.0.1:9091/metrics/job@base64/bXkgam9i/a@base64/=/m/x%2By%3F/z@base64/YS9i"
        );
    }
}
