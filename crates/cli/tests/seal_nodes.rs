//! `nodeAction` of `chaos seal autonomous` on the kwok nodes of `scripts/testenv`
//! (`kwok-a1`, `kwok-a2` in `zone-a`, `kwok-b1`, `kwok-b2` in `zone-b`, label `type=kwok`):
//! property matches and filters on the nodes' name, zone, labels (`group`) and state, the
//! seal's own node spared (`NODE_NAME`), a seeded sample; a `dayTime` filter that passes
//! and one that does not (on the day the test runs, in UTC); a policy asking for a cloud
//! driver's `stop` refused before anything runs (exit 2, the line and path named).

#[path = "../../drivers-k8s/tests/support/cluster.rs"]
mod cluster;
#[path = "support/reference.rs"]
#[allow(dead_code)]
mod reference;
#[path = "support/run.rs"]
mod run;
#[path = "support/seal.rs"]
mod seal;

use run::{scratch, stderr};
use seal::{autonomous, autonomous_command, has, journal, write_policy};
use serde_json::{json, Value};

fn output(j: &Value, step: usize, key: &str) -> Value {
    j["run"][step]["output"][key].clone()
}

#[test]
fn node_actions_match_filter_and_spare_the_seals_own_node() {
    let dir = scratch("seal-nodes", "match");
    let policy = write_policy(
        &dir,
        "config: {runStrategy: {runs: 1}}
scenarios:
- name: zone a
  steps:
  - nodeAction:
      matches: [{property: {name: name, value: 'kwok-'}}]
      filters: [{property: {name: az, value: zone-a}}]
      actions: [{wait: {seconds: 0}}]
- name: group b
  steps:
  - nodeAction:
      matches: [{property: {name: group, value: zone-b}}]
      filters:
      - property: {name: state, value: UP}
      - randomSample: {size: 1}
      actions: [{wait: {seconds: 0}}]
- name: not these
  steps:
  - nodeAction:
      matches: [{property: {name: name, value: 'kwok-a', negative: true}}]
      actions: []
",
    );
    let out = autonomous(&dir, &policy, "5", &[("NODE_NAME", "kwok-a1")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let j = journal(&dir, "zone-a", 1);
    assert_eq!(j["status"], "completed");
    assert_eq!(
        output(&j, 0, "matched"),
        json!(["kwok-a1", "kwok-a2", "kwok-b1", "kwok-b2"])
    );
    assert_eq!(output(&j, 0, "filtered"), json!(["kwok-a2"]));
    has(
        &err,
        "WARNING action_nodes.zone a Self-destruction prevention. Filtering out: [[node no=0",
    );
    has(&err, "name=kwok-a1 state=UP]]");
    let j = journal(&dir, "group-b", 1);
    assert_eq!(output(&j, 0, "matched"), json!(["kwok-b1", "kwok-b2"]));
    let picked = output(&j, 0, "filtered");
    assert_eq!(picked.as_array().map(Vec::len), Some(1));
    let j = journal(&dir, "not-these", 1);
    assert_eq!(output(&j, 0, "matched"), json!(["kwok-b1", "kwok-b2"]));
    // The same seed samples the same node.
    let again = scratch("seal-nodes", "match-again");
    let policy = write_policy(&again, &std::fs::read_to_string(&policy).expect("policy"));
    let out = autonomous(&again, &policy, "5", &[("NODE_NAME", "kwok-a1")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        output(&journal(&again, "group-b", 1), 0, "filtered"),
        picked
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&again);
}

#[test]
fn day_time_filters_pass_inside_their_window_and_days_only() {
    // The seal reads its local time: UTC here, as the test computes today.
    let today = time::OffsetDateTime::now_utc().weekday();
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let others: Vec<&str> = days
        .iter()
        .copied()
        .filter(|d| *d != today.to_string().to_lowercase())
        .collect();
    let whole_day =
        "startTime: {hour: 0, minute: 0, second: 0}, endTime: {hour: 23, minute: 59, second: 59}";
    let dir = scratch("seal-nodes", "daytime");
    let policy = write_policy(
        &dir,
        &format!(
            "config: {{runStrategy: {{runs: 1}}}}
scenarios:
- name: every day
  steps:
  - nodeAction:
      matches: [{{property: {{name: name, value: kwok-b1}}}}]
      filters: [{{dayTime: {{onlyDays: [{}], {whole_day}}}}}]
      actions: [{{wait: {{seconds: 0}}}}]
- name: not today
  steps:
  - nodeAction:
      matches: [{{property: {{name: name, value: kwok-b1}}}}]
      filters: [{{dayTime: {{onlyDays: [{}], {whole_day}}}}}]
      actions: [{{wait: {{seconds: 0}}}}]
",
            days.join(", "),
            others.join(", ")
        ),
    );
    let out = autonomous(&dir, &policy, "1", &[("TZ", "UTC")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        output(&journal(&dir, "every-day", 1), 0, "filtered"),
        json!(["kwok-b1"])
    );
    assert_eq!(
        output(&journal(&dir, "not-today", 1), 0, "filtered"),
        json!([])
    );
    has(
        &err,
        &format!("Not allowed on {}", today.to_string().to_lowercase()),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_policy_asking_for_a_cloud_driver_is_refused_before_it_runs() {
    let dir = scratch("seal-nodes", "cloud");
    let policy = write_policy(
        &dir,
        "config: {runStrategy: {runs: 1}}
scenarios:
- name: stop a node
  steps:
  - wait: {seconds: 0}
  - nodeAction:
      matches: [{property: {name: name, value: kwok-b2}}]
      actions: [{stop: {autoRestart: true}}]
",
    );
    let out = autonomous(&dir, &policy, "1", &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    has(
        &err,
        "policy.yml: line 8: scenarios[0].steps[1].nodeAction.actions[0].stop: stopping a node needs a cloud driver",
    );
    has(&err, "remove those actions to run it");
    assert!(!err.contains("Starting scenario"), "{err}");
    assert!(!dir
        .join("journals")
        .join("seal-journal-stop-a-node-1.json")
        .exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_stdout_collector_logs_upstreams_metric_lines_with_v() {
    let dir = scratch("seal-nodes", "stdout");
    let policy = write_policy(
        &dir,
        "config: {runStrategy: {runs: 1}}
scenarios:
- name: no such node
  steps:
  - nodeAction:
      matches: [{property: {name: name, value: nothing-here}}]
      actions: [{wait: {seconds: 0}}]
",
    );
    let out = autonomous_command(&dir, &policy, &["-v", "--stdout-collector"], &[])
        .output()
        .expect("run chaos");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for line in [
        "DEBUG stdout_collector Matched to empty set - source: nodes",
        "DEBUG stdout_collector Filtered to empty set",
        "DEBUG stdout_collector Scenario no such node result: True",
    ] {
        has(&err, line);
    }
    // Without -v, as upstream (its collector logs at debug level), none of them.
    let out = autonomous(&dir, &policy, "1", &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!stderr(&out).contains("stdout_collector"));
    let _ = std::fs::remove_dir_all(&dir);
}
