//! `alertManagerAction` of `chaos seal autonomous` against a real local HTTP server
//! standing in for Alertmanager's API v2 (`support/http_server.rs`, which answers a
//! silence's POST with an id and its DELETE with 200, and any other method with 405):
//! the exact requests (paths, methods, upstream's payload), the silences lifted in the
//! cleanup with `autoUnmute`, kept without it, and an unreachable target failing the step.
//! No cluster is needed.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/reference.rs"]
#[allow(dead_code)]
mod reference;
#[path = "support/run.rs"]
mod run;

use run::{chaos, read_json, scratch, stderr};
use serde_json::{json, Value};

/// Seconds since the epoch of a Python `isoformat()` time (`…T12:00:00.123456+01:00`).
fn seconds(iso: &str) -> i64 {
    let n = |a: usize, b: usize| iso[a..b].parse::<i64>().expect("a number");
    let month = time::Month::try_from(n(5, 7) as u8).expect("month");
    let date = time::Date::from_calendar_date(n(0, 4) as i32, month, n(8, 10) as u8).expect("date");
    let t = time::Time::from_hms(n(11, 13) as u8, n(14, 16) as u8, n(17, 19) as u8).expect("time");
    let tail = &iso[iso.len() - 6..];
    let sign = if tail.starts_with('-') { -1 } else { 1 };
    let offset = sign
        * (tail[1..3].parse::<i64>().expect("h") * 3600
            + tail[4..6].parse::<i64>().expect("m") * 60);
    time::PrimitiveDateTime::new(date, t)
        .assume_utc()
        .unix_timestamp()
        - offset
}

#[test]
fn silences_are_created_and_lifted_with_upstreams_requests() {
    let server = http_server::TestServer::start(None);
    let base = server.base_url();
    let closed = http_server::closed_port();
    let dir = scratch("seal-alerts", "mute");
    let policy = dir.join("policy.yml");
    std::fs::write(
        &policy,
        format!(
            "config: {{runStrategy: {{runs: 1}}, exitStrategy: {{strategy: report}}}}
scenarios:
- name: quiet please
  steps:
  - alertManagerAction:
      targets: [{{url: '{base}/alertmanager/a/api/v2'}}, {{url: '{base}/alertmanager/b/api/v2'}}]
      actions: [{{mute: {{duration: 120}}}}]
  - wait: {{seconds: 0}}
- name: keep it muted
  steps:
  - alertManagerAction:
      targets: [{{url: '{base}/alertmanager/c/api/v2'}}, {{url: 'http://127.0.0.1:{closed}/api/v2'}}]
      actions: [{{mute: {{autoUnmute: false}}}}]
"
        ),
    )
    .expect("policy");
    let out = chaos(
        &dir,
        &[
            "seal",
            "autonomous",
            "--policy-file",
            policy.to_str().expect("utf-8"),
            "--journal-dir",
            "journals",
            "--seed",
            "1",
        ],
        &[],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        server.requests(),
        [
            "/alertmanager/a/api/v2/silences",
            "/alertmanager/b/api/v2/silences",
            "/alertmanager/a/api/v2/silence/a-1",
            "/alertmanager/b/api/v2/silence/b-1",
            "/alertmanager/c/api/v2/silences",
        ]
    );
    let bodies = server.bodies();
    for (i, duration) in [(0, 120), (1, 120), (4, 900)] {
        let body: Value = serde_json::from_str(&bodies[i]).expect("a JSON body");
        assert_eq!(body["comment"], "silence all alerts");
        assert_eq!(body["createdBy"], "powerfulseal");
        assert_eq!(
            body["matchers"],
            json!([{"isRegex": true, "name": "alertname", "value": ".+"}])
        );
        let (start, end) = (
            body["startsAt"].as_str().expect("startsAt"),
            body["endsAt"].as_str().expect("endsAt"),
        );
        assert_eq!(seconds(end) - seconds(start), duration, "{body}");
    }
    assert_eq!(bodies[2], "", "a DELETE has no body");
    let j = read_json(&dir.join("journals/seal-journal-quiet-please-1.json"));
    assert_eq!(j["status"], "completed");
    assert_eq!(
        j["run"][0]["output"]["silences"],
        json!([
            {"url": format!("{base}/alertmanager/a/api/v2"), "silenceID": "a-1"},
            {"url": format!("{base}/alertmanager/b/api/v2"), "silenceID": "b-1"}
        ])
    );
    let rollbacks: Vec<&str> = j["rollbacks"]
        .as_array()
        .expect("rollbacks")
        .iter()
        .map(|r| r["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(rollbacks, ["succeeded", "succeeded"]);
    assert!(err.contains(&format!(
        "INFO action_alertmanager.quiet please Unmuting alerts for alert manager {base}/alertmanager/a/api/v2"
    )));
    // Without autoUnmute nothing is lifted; the unreachable target fails the step.
    let j = read_json(&dir.join("journals/seal-journal-keep-it-muted-1.json"));
    assert_eq!(j["status"], "failed");
    assert_eq!(j["rollbacks"], json!([]));
    assert!(
        err.contains(&format!(
            "Exception while calling http://127.0.0.1:{closed}/api/v2/silences"
        )),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
