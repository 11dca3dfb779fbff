//! `label` mode (`chaos seal label`): upstream's `LabelRunner` (3.3). Every round lists
//! the pods (of `--kubernetes-namespace`, comma-separated, or all), keeps those whose
//! label or annotation `seal/enabled` is `true`, that are inside their time window
//! (`seal/days`, default `mon,tue,wed,thu,fri`; `seal/start-time` inclusive, default
//! `10-00-00`; `seal/end-time` exclusive, default `17-30-00`; local time) and that win
//! their coin flip (`seal/kill-probability`, default 1; not a number in [0, 1]: skipped
//! with a warning), kills each (DELETE with `gracePeriodSeconds=0`, as `autonomous`),
//! then sleeps between `--min-seconds-between-runs` and `--max-seconds-between-runs`.
//! Upstream runs forever; `--runs N` (ours) stops after N rounds. The seal's own pod is
//! never killed. SIGINT/SIGTERM end it (exit 130/143).

use super::pods::{Candidate, Own, Pod};
use super::{Ending, Runner};

const MODULE: &str = "label_runner";

/// Upstream's `get_integer_days_from_days_label`, as weekdays; unknown names are skipped
/// (returned second, for the warning).
fn days(label: &str) -> (Vec<time::Weekday>, Vec<String>) {
    use time::Weekday::*;
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for d in label.split(',') {
        match d {
            "mon" => out.push(Monday),
            "tue" => out.push(Tuesday),
            "wed" => out.push(Wednesday),
            "thu" => out.push(Thursday),
            "fri" => out.push(Friday),
            "sat" => out.push(Saturday),
            "sun" => out.push(Sunday),
            other => bad.push(other.to_string()),
        }
    }
    (out, bad)
}

/// Upstream's `process_time_label`: exactly `HH-MM-SS`.
fn time_of_day(label: &str) -> Option<(u8, u8, u8)> {
    let parts: Vec<&str> = label.split('-').collect();
    if label.len() != 8 || parts.len() != 3 || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let n = |i: usize| parts[i].parse::<u8>().ok();
    let (h, m, s) = (n(0)?, n(1)?, n(2)?);
    (h < 24 && m < 60 && s < 60).then_some((h, m, s))
}

/// Whether `pod` may be killed at `now` by its `seal/*` labels; why not, when it may not.
pub(crate) fn allowed(pod: &Pod, now: time::OffsetDateTime) -> Result<(), String> {
    let get = |k: &str, d: &str| pod.label_or_annotation(k).unwrap_or_else(|| d.to_string());
    if get("seal/enabled", "false") != "true" {
        return Err("not enabled".into());
    }
    let (days, _) = days(&get("seal/days", "mon,tue,wed,thu,fri"));
    if !days.contains(&now.weekday()) {
        return Err("not today".into());
    }
    let t = (now.hour(), now.minute(), now.second());
    let start = time_of_day(&get("seal/start-time", "10-00-00"))
        .ok_or_else(|| format!("Invalid start time - skipping pod {}", pod.shown()))?;
    if t < start {
        return Err("too early".into());
    }
    let end = time_of_day(&get("seal/end-time", "17-30-00"))
        .ok_or_else(|| format!("Invalid end time - skipping pod {}", pod.shown()))?;
    if t >= end {
        return Err("too late".into());
    }
    Ok(())
}

impl Runner<'_> {
    /// Runs label mode: `rounds` rounds (`None`: until a signal).
    pub async fn label(
        mut self,
        namespace: &str,
        rounds: Option<u64>,
        min: f64,
        max: f64,
    ) -> Ending {
        let namespace = if namespace.is_empty() { "*" } else { namespace };
        let own = Own::from_env();
        let mut left = rounds;
        loop {
            match self.find_pods(namespace, None).await {
                Ok(pods) => {
                    self.log.info(MODULE, format!("Found {} pods", pods.len()));
                    let now = time::OffsetDateTime::now_utc().to_offset(self.local_offset);
                    let mut chosen = Vec::new();
                    for pod in pods {
                        if pod.is_self(&own) {
                            self.log.warning(
                                MODULE,
                                format!("Self-destruction prevention. Filtering out: {pod}"),
                            );
                            continue;
                        }
                        if let Err(why) = allowed(&pod, now) {
                            if why.starts_with("Invalid") {
                                self.log.warning(MODULE, why);
                            }
                            continue;
                        }
                        let p = pod
                            .label_or_annotation("seal/kill-probability")
                            .unwrap_or_else(|| "1".into());
                        match p.trim().parse::<f64>() {
                            Ok(p) if (0.0..=1.0).contains(&p) => {
                                if p < self.rng.f64() {
                                    continue;
                                }
                                chosen.push(pod);
                            }
                            _ => self.log.warning(
                                MODULE,
                                format!("Invalid float value - skipping pod {}", pod.shown()),
                            ),
                        }
                    }
                    self.log
                        .info(MODULE, format!("Filtered to {} pods", chosen.len()));
                    for pod in &chosen {
                        match self.delete_pod(pod).await {
                            Ok(()) => {
                                self.metrics.pod_killed(pod, true);
                                self.log.info(MODULE, format!("Pod killed: {pod}"));
                            }
                            Err(e) => {
                                self.metrics.pod_killed(pod, false);
                                self.log
                                    .error(MODULE, format!("Exception while killing pod: {e}"));
                                self.log.error(MODULE, format!("Pod NOT killed: {pod}"));
                            }
                        }
                    }
                }
                Err(e) => self.log.error(MODULE, format!("cannot list pods: {e}")),
            }
            if let Some(stop) = self.shutdown.stopped() {
                return Ending::Stopped(stop);
            }
            if let Some(n) = left.as_mut() {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.log.info(MODULE, "All done here!");
                    return Ending::Done;
                }
            }
            let sleep = (min + self.rng.f64() * (max - min)).trunc().max(0.0);
            self.log
                .info(MODULE, format!("Sleeping for {} seconds", sleep as u64));
            self.sleep(sleep).await;
            if let Some(stop) = self.shutdown.stopped() {
                return Ending::Stopped(stop);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_label_formats() {
        assert_eq!(time_of_day("10-00-00"), Some((10, 0, 0)));
        assert_eq!(time_of_day("23-59-59"), Some((23, 59, 59)));
        assert_eq!(time_of_day("10:00:00"), None);
        assert_eq!(time_of_day("1-00-000"), None);
        assert_eq!(time_of_day("25-00-00"), None);
        let (d, bad) = days("mon,sun,funday");
        assert_eq!(d, [time::Weekday::Monday, time::Weekday::Sunday]);
        assert_eq!(bad, ["funday"]);
    }
}
