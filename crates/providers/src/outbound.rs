//! The headers an activity's own outbound HTTP calls carry while it runs: the trace
//! context (`traceparent`, or the legacy control's `uber-trace-id` / B3 headers) of the
//! activity span a tracing control opened around it.
//!
//! Why a task-local and not a header in the activity: an `http` provider's headers are in
//! its declaration, and the tracing controls add theirs there (the journal shows them, as
//! upstream). The drivers' own calls (chaosprometheus' queries, chaostoxi's API calls,
//! Gremlin's, Slack's) are built deep inside a driver from its configuration; threading a
//! context through every function signature would touch every driver for one concern.
//! Instead a control's before-activity hook hands the engine the headers
//! ([`Changes::outbound_headers`](crate::control::Changes::outbound_headers)), the engine
//! runs the activity inside [`scope`], and a driver applies [`current`] (or [`apply`])
//! where it builds a request. The engine knows no driver and no header by name; a driver
//! knows no control. Outside an activity (a control's own calls, notifications) there is
//! nothing to carry and nothing is added.
//!
//! A task-local reaches what the activity's future awaits, not tasks it spawns: a driver
//! that hands a request to a task of its own takes [`current`] first. kube's client is
//! such a case (its tower `Buffer` runs the layers on a worker task), so chaosk8s adds
//! [`current`] where it builds each request, before handing it over.

use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    static HEADERS: Arc<[(String, String)]>;
}

/// Runs `f` with `headers` as the outbound headers of everything it awaits. With no
/// headers, `f` runs as is (and sees none).
pub async fn scope<F: Future>(headers: Vec<(String, String)>, f: F) -> F::Output {
    if headers.is_empty() {
        f.await
    } else {
        HEADERS.scope(headers.into(), f).await
    }
}

/// The outbound headers of the activity running in this task; empty outside one.
pub fn current() -> Vec<(String, String)> {
    HEADERS.try_with(|h| h.to_vec()).unwrap_or_default()
}

/// `request` with the current outbound headers added (replacing a header of the same
/// name).
pub fn apply(mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    for (name, value) in current() {
        request = request.header(name, value);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_headers_are_seen_inside_the_scope_only() {
        assert!(current().is_empty());
        let headers = vec![("traceparent".to_string(), "00-a-b-01".to_string())];
        let seen = scope(headers.clone(), async {
            tokio::task::yield_now().await;
            current()
        })
        .await;
        assert_eq!(seen, headers);
        assert!(current().is_empty());
        // A task spawned inside does not inherit them.
        let spawned = scope(headers, async {
            tokio::spawn(async { current() }).await.unwrap()
        })
        .await;
        assert!(spawned.is_empty());
        assert!(scope(vec![], async { current() }).await.is_empty());
    }
}
