//! The schema, branch by branch: what it accepts (with its defaults) and the message,
//! path and line of what it refuses.

use crate::policy::*;
use crate::{load_str, LoadError};

fn ok(text: &str) -> crate::Checked {
    match load_str(text, "p.yml") {
        Ok(c) => c,
        Err(e) => panic!("expected valid, got: {e}\n{text}"),
    }
}

fn bad(text: &str) -> String {
    match load_str(text, "p.yml") {
        Ok(c) => panic!("expected invalid, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_smallest_policy_gets_the_codes_defaults() {
    let c = ok("scenarios: []\n");
    assert_eq!(
        c.policy.config,
        Config {
            run_strategy: RunStrategy {
                order: Order::RoundRobin,
                runs: None,
                min_seconds_between_runs: 0.0,
                max_seconds_between_runs: 300.0,
            },
            exit_strategy: ExitStrategy::Report,
        }
    );
    assert!(c.notices.is_empty());
}

#[test]
fn typos_name_the_path_and_the_line() {
    let text = "\
scenarios:
- name: kill some pods
  steps:
  - wait:
      seconds: 1
  - podAction:
      matches:
      - namspace: default
      actions:
      - kill: {}
";
    assert_eq!(
        bad(text),
        "p.yml:8:9: scenarios[0].steps[1].podAction.matches[0]: unknown key 'namspace' (expected one of: namespace, deployment, labels)"
    );
}

#[test]
fn every_branch_refuses_what_upstreams_schema_refuses() {
    for (text, expected) in [
        ("scenario: []\n", "p.yml:1:1: unknown key 'scenario' (expected one of: config, scenarios)"),
        ("config: {}\n", "p.yml:1:1: missing required key 'scenarios'"),
        ("", "the policy is empty"),
        ("scenarios: {}\n", "p.yml:1:1: scenarios: expected a list, found a mapping {}"),
        (
            "config:\n  runStrategy:\n    strategy: sometimes\nscenarios: []\n",
            "p.yml:3:5: config.runStrategy.strategy: 'sometimes' is not one of: round-robin, random",
        ),
        (
            "config:\n  runStrategy:\n    runs: 0\nscenarios: []\n",
            "p.yml:3:5: config.runStrategy.runs: 0 is less than the minimum of 1",
        ),
        (
            "config:\n  exitStrategy:\n    strategy: fail-slow\nscenarios: []\n",
            "config.exitStrategy.strategy: 'fail-slow' is not one of: report, fail-fast",
        ),
        (
            "scenarios:\n- name: ab\n  steps: []\n",
            "p.yml:2:3: scenarios[0].name: a scenario name has 3 to 80 characters; 'ab' has 2",
        ),
        (
            "scenarios:\n- name: abc\n",
            "p.yml:2:3: scenarios[0]: missing required key 'steps'",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - wait: {seconds: 1}\n    kubectl: {action: apply, payload: x}\n",
            "scenarios[0].steps[0]: expected exactly one of: podAction, nodeAction, kubectl, probeHTTP, wait, clone, alertManagerAction; found both 'wait' and 'kubectl'",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - sleep: {seconds: 1}\n",
            "p.yml:4:5: scenarios[0].steps[0]: unknown key 'sleep'",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - wait: {seconds: true}\n",
            "scenarios[0].steps[0].wait.seconds: expected a number, found a boolean true",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - wait: {seconds: -1}\n",
            "scenarios[0].steps[0].wait.seconds: -1 is less than the minimum of 0",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n      filters: [{probability: 1.5}]\n      actions: []\n",
            "scenarios[0].steps[0].podAction.filters[0].probability: a probability is between 0 and 1, not 1.5",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n      filters: [{probability: {probabilityPassAll: 0.5}}]\n      actions: []\n",
            "podAction.filters[0].probability: expected a number between 0 and 1, found a mapping",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n      filters: [{property: {name: phase, value: x}}]\n      actions: []\n",
            "podAction.filters[0].property.name: 'phase' is not one of: name, state",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n      filters: [{property: {name: name, value: 'a(b'}}]\n      actions: []\n",
            "podAction.filters[0].property.value: 'a(b' is not a valid regular expression",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n      filters: [{dayTime: {onlyDays: [funday], startTime: {hour: 1, minute: 0, second: 0}, endTime: {hour: 2, minute: 0, second: 0}}}]\n      actions: []\n",
            "dayTime.onlyDays[0]: \"funday\" is not a day",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n      filters: [{dayTime: {onlyDays: [monday], startTime: {hour: 24, minute: 0, second: 0}, endTime: {hour: 2, minute: 0, second: 0}}}]\n      actions: []\n",
            "dayTime.startTime.hour: 24 is greater than the maximum of 23",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n      filters: [{randomSample: {size: 0}}]\n      actions: []\n",
            "randomSample.size: 0 is less than the minimum of 1",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n      actions: [{kill: {probability: 2}}]\n",
            "podAction.actions[0].kill.probability: 2 is greater than the maximum of 1",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{deployment: {name: d}}]\n      actions: []\n",
            "podAction.matches[0].deployment: missing required key 'namespace'",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n",
            "scenarios[0].steps[0].podAction: missing required key 'actions'",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n      actions: []\n      retries: {retriesCount: {sleep: 1}}\n",
            "podAction.retries.retriesCount: missing required key 'count'",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - nodeAction:\n      matches: [{property: {name: zone, value: x}}]\n      actions: []\n",
            "nodeAction.matches[0].property.name: 'zone' is not one of: name, ip, group, az, state",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - kubectl: {action: create, payload: x}\n",
            "kubectl.action: 'create' is not one of: apply, delete",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - kubectl: {action: apply}\n",
            "scenarios[0].steps[0].kubectl: missing required key 'payload'",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - probeHTTP: {target: {service: {name: s, namespace: n, port: 70000}}}\n",
            "probeHTTP.target.service.port: 70000 is greater than the maximum of 65535",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - probeHTTP: {target: {url: 'http://x'}, method: put}\n",
            "probeHTTP.method: 'put' is not one of: get, post, patch, head, delete",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - probeHTTP: {target: {url: 'http://x'}, retries: 0}\n",
            "probeHTTP.retries: 0 is less than the minimum of 1",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - clone: {source: {deployment: {name: d, namespace: n}}, mutations: [{toxiproxy: {toxics: [{targetProxy: 8080, toxicType: latency}]}}]}\n",
            "toxics[0].targetProxy: expected a string, found a number 8080",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - clone: {source: {deployment: {name: d, namespace: n}}, mutations: [{tc: {args: [x]}}]}\n",
            "clone.mutations[0].tc: missing required key 'command'",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - clone: {source: {service: {name: d, namespace: n}}}\n",
            "clone.source: unknown key 'service' (expected one of: deployment)",
        ),
        (
            "scenarios:\n- name: abc\n  steps:\n  - alertManagerAction: {targets: [{url: 'http://am'}], actions: [{mute: {duration: 10}}]}\n",
            "mute.duration: 10 is less than the minimum of 60",
        ),
        ("scenarios: [\n", "p.yml:2:1: not valid YAML"),
    ] {
        let message = bad(text);
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message:?} for:\n{text}"
        );
    }
}

#[test]
fn everything_the_schema_offers_is_read_with_its_defaults() {
    let text = r#"
config:
  runStrategy: {strategy: random, runs: 2, minSecondsBetweenRuns: 1, maxSecondsBetweenRuns: 5}
  exitStrategy: {strategy: fail-fast}
scenarios:
- name: everything
  description: all the kinds
  steps:
  - podAction:
      matches:
      - namespace: default
      - deployment: {name: web, namespace: default}
      - labels: {selector: app=web, namespace: default}
      filters:
      - property: {name: state, value: Running, negative: true}
      - dayTime:
          onlyDays: [monday, sunday]
          startTime: {hour: 10, minute: 0, second: 0}
          endTime: {hour: 17, minute: 30, second: 0}
      - randomSample: {ratio: 0.5}
      - randomSample: {}
      - probability: 0.3
      actions:
      - kill: {}
      - wait: {seconds: 2}
      - checkPodState: {state: Running}
      - checkPodCount: {count: 3}
      retries: {retriesTimeout: {timeout: 10}}
  - kubectl: {action: apply, payload: "kind: Namespace"}
  - probeHTTP:
      target: {service: {name: web, namespace: default}}
      endpoint: /healthz
      headers: [{name: X-A, value: b}]
  - clone:
      source: {deployment: {name: web, namespace: default}}
      replicas: 2
      labels: [{label: {key: k, value: v}}, {service: {name: web, namespace: default}}]
      servicesToRetarget: [{service: {name: web, namespace: default}}]
      mutations:
      - environment: {name: A, value: b}
      - tc: {command: [tc], args: [qdisc, add]}
      - toxiproxy:
          proxies: [{name: extra, listen: "0.0.0.0:2222", upstream: "example:80"}]
          toxics: [{targetProxy: "8080", toxicType: latency, toxicAttributes: [{name: latency, value: 250}]}]
  - alertManagerAction:
      targets: [{url: "http://am:9093"}]
      actions: [{mute: {duration: 120}}]
  - wait: {seconds: 0}
"#;
    let c = ok(text);
    let p = &c.policy;
    assert_eq!(p.config.run_strategy.order, Order::Random);
    assert_eq!(p.config.run_strategy.runs, Some(2));
    assert_eq!(p.config.exit_strategy, ExitStrategy::FailFast);
    let steps = &p.scenarios[0].steps;
    let kinds: Vec<&str> = steps.iter().map(Step::kind).collect();
    assert_eq!(
        kinds,
        [
            "podAction",
            "kubectl",
            "probeHTTP",
            "clone",
            "alertManagerAction",
            "wait"
        ]
    );
    let Step::PodAction(pod) = &steps[0] else {
        panic!()
    };
    assert_eq!(pod.matches.len(), 3);
    assert_eq!(
        pod.actions[0],
        PodActionKind::Kill {
            probability: 1.0,
            force: true
        }
    );
    assert_eq!(
        pod.filters[3],
        Filter::RandomSample {
            size: None,
            ratio: None
        }
    );
    assert_eq!(pod.filters[4], Filter::Probability(0.3));
    let Step::Kubectl(k) = &steps[1] else {
        panic!()
    };
    assert!(k.auto_delete);
    assert_eq!(k.kubectl_binary, None);
    let Step::ProbeHttp(probe) = &steps[2] else {
        panic!()
    };
    assert_eq!(
        (
            probe.retries,
            probe.delay_ms,
            probe.timeout_ms,
            probe.code,
            probe.count
        ),
        (1, 100.0, 1000.0, 200, 1)
    );
    assert_eq!(
        probe.target,
        ProbeTarget::Service {
            name: "web".into(),
            namespace: "default".into(),
            port: 80,
            https: false
        }
    );
    let Step::Clone(clone) = &steps[3] else {
        panic!()
    };
    assert_eq!(clone.replicas, 2);
    let Mutation::Tc { image, user, .. } = &clone.mutations[1] else {
        panic!()
    };
    assert_eq!((image.as_str(), *user), (DEFAULT_IPROUTE2_IMAGE, 0));
    let Mutation::Toxiproxy(t) = &clone.mutations[2] else {
        panic!()
    };
    assert_eq!(t.image_toxiproxy, None);
    assert_eq!(t.toxiproxy_cli, None);
    assert_eq!(t.toxics[0].attributes, [("latency".to_string(), 250.0)]);
    let Step::AlertManager(am) = &steps[4] else {
        panic!()
    };
    assert!(am.actions[0].auto_unmute);
    assert!(c.notices.is_empty());
}

#[test]
fn cloud_and_ssh_are_accepted_with_a_notice_naming_the_place() {
    let text = "\
scenarios:
- name: nodes
  steps:
  - nodeAction:
      matches: [{property: {name: az, value: eu}}]
      actions:
      - stop: {force: true}
      - start:
      - execute: {cmd: reboot}
";
    let c = ok(text);
    let notices: Vec<String> = c.notices.iter().map(ToString::to_string).collect();
    // `az` is a Kubernetes node's zone label: no notice.
    assert_eq!(notices.len(), 3, "{notices:#?}");
    assert!(notices[0].starts_with("line 7: scenarios[0].steps[0].nodeAction.actions[0].stop: stopping a node needs a cloud driver; Shakedown has no cloud drivers"));
    assert!(notices[0].ends_with("refuses to run this policy (exit 2)"));
    assert!(notices[2].contains("SSH"));
}

#[test]
fn an_unreadable_file_says_so() {
    let e = crate::load_file(std::path::Path::new("/nonexistent/policy.yml"));
    assert!(matches!(e, Err(LoadError::Read { .. })));
    let text = e.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.starts_with("/nonexistent/policy.yml: cannot read the policy file"),
        "{text}"
    );
}
