//! Leader election on a `coordination.k8s.io/v1` Lease, so two replicas never reconcile at
//! once (two operators would both start the run of a new resource).
//!
//! client-go's rules, kept small: a replica takes the Lease when nobody holds it or the
//! holder has not renewed it for `leaseDurationSeconds` ([`may_take`]); every write
//! carries the `resourceVersion` it read, so of two replicas racing for an expired Lease
//! the apiserver lets exactly one win (the other gets 409). The leader renews every
//! [`Config::renew_every`]; when a renewal fails past the lease duration, it stops
//! reconciling and [`run`] returns [`LeaderError::Lost`], so the process exits and is
//! restarted as a candidate, as client-go's leader election does.

use crate::metrics::Metrics;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::Client;
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub namespace: String,
    pub name: String,
    /// This replica (the pod name).
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_every: Duration,
    /// How often a candidate tries to take the Lease.
    pub retry_every: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("lost the leader Lease {namespace}/{name}: {reason}")]
    Lost {
        namespace: String,
        name: String,
        reason: String,
    },
}

/// Whether `identity` may take a Lease held by `holder`, last renewed at `renewed`
/// (microseconds since the epoch) for `duration_s` seconds, at `now`.
pub fn may_take(
    holder: Option<&str>,
    renewed: Option<i64>,
    duration_s: i64,
    identity: &str,
    now: i64,
) -> bool {
    match (holder, renewed) {
        (None, _) | (Some(""), _) => true,
        (Some(h), _) if h == identity => true,
        (Some(_), None) => true,
        (Some(_), Some(at)) => now.saturating_sub(at) > duration_s.saturating_mul(1_000_000),
    }
}

fn now_micros() -> i64 {
    Timestamp::now().as_microsecond()
}

/// One attempt to take or renew the Lease: `Ok(true)` when this replica holds it now.
pub async fn try_acquire(api: &Api<Lease>, cfg: &Config) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let duration_s = i32::try_from(cfg.lease_duration.as_secs()).unwrap_or(i32::MAX);
    match api.get_opt(&cfg.name).await? {
        None => {
            let lease: Lease = serde_json::from_value(json!({
                "metadata": {"name": cfg.name, "namespace": cfg.namespace},
                "spec": {"holderIdentity": cfg.identity, "leaseDurationSeconds": duration_s,
                         "acquireTime": MicroTime(now), "renewTime": MicroTime(now), "leaseTransitions": 0},
            }))
            .map_err(kube::Error::SerdeError)?;
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
        Some(mut lease) => {
            let spec = lease.spec.get_or_insert_with(Default::default);
            let holder = spec.holder_identity.clone();
            let renewed = spec.renew_time.as_ref().map(|t| t.0.as_microsecond());
            let duration = i64::from(spec.lease_duration_seconds.unwrap_or(duration_s));
            if !may_take(
                holder.as_deref(),
                renewed,
                duration,
                &cfg.identity,
                now_micros(),
            ) {
                return Ok(false);
            }
            if holder.as_deref() != Some(cfg.identity.as_str()) {
                spec.acquire_time = Some(MicroTime(now));
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
                spec.holder_identity = Some(cfg.identity.clone());
            }
            spec.renew_time = Some(MicroTime(now));
            spec.lease_duration_seconds = Some(duration_s);
            // `replace` sends the resourceVersion read above: a racing writer gets 409.
            match api.replace(&cfg.name, &PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}

/// Waits to become leader, then runs `work` while renewing the Lease. Returns when `work`
/// returns (`Ok`), or with [`LeaderError::Lost`] when the Lease could not be renewed
/// within its duration (`work` is then dropped). `shutdown` ends the wait for leadership.
pub async fn run<W>(
    client: Client,
    cfg: Config,
    metrics: Arc<Metrics>,
    work: W,
    shutdown: impl Future<Output = ()>,
) -> Result<(), LeaderError>
where
    W: Future<Output = ()>,
{
    let api: Api<Lease> = Api::namespaced(client, &cfg.namespace);
    tokio::pin!(shutdown);
    loop {
        match try_acquire(&api, &cfg).await {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => log::warn!(
                "leader election: cannot read the Lease {}/{}: {e}",
                cfg.namespace,
                cfg.name
            ),
        }
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(cfg.retry_every) => {}
        }
    }
    log::info!(
        "leader election: {} holds the Lease {}/{}",
        cfg.identity,
        cfg.namespace,
        cfg.name
    );
    metrics.set_leader(true);
    let renew = async {
        let mut last_ok = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(cfg.renew_every).await;
            match try_acquire(&api, &cfg).await {
                Ok(true) => last_ok = tokio::time::Instant::now(),
                Ok(false) => return "another replica holds it".to_string(),
                Err(e) if last_ok.elapsed() > cfg.lease_duration => return e.to_string(),
                Err(e) => log::warn!("leader election: renewing failed, retrying: {e}"),
            }
        }
    };
    let result = tokio::select! {
        _ = work => Ok(()),
        reason = renew => Err(LeaderError::Lost { namespace: cfg.namespace.clone(), name: cfg.name.clone(), reason }),
    };
    metrics.set_leader(false);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_taken_when_free_mine_or_expired() {
        let s = 1_000_000;
        assert!(may_take(None, None, 15, "a", 100 * s));
        assert!(may_take(Some(""), Some(99 * s), 15, "a", 100 * s));
        assert!(may_take(Some("a"), Some(99 * s), 15, "a", 100 * s));
        assert!(!may_take(Some("b"), Some(90 * s), 15, "a", 100 * s));
        assert!(!may_take(Some("b"), Some(85 * s), 15, "a", 100 * s));
        assert!(may_take(Some("b"), Some(84 * s), 15, "a", 100 * s));
    }
}
