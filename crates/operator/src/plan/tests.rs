use super::*;
use serde_json::json;

fn owner(kind: Kind) -> Owner {
    let mut labels = Map::new();
    labels.insert("team".into(), "sre".into());
    Owner {
        kind,
        namespace: "chaostoolkit-crd".into(),
        name: "my-exp".into(),
        uid: "0A1b2c3d-4e5f-6789-abcd-ef0123456789".into(),
        generation: 2,
        labels,
    }
}

fn defaults() -> Defaults {
    Defaults {
        runner_image: "shakedown:test".into(),
        kill_switch: Some(("chaos-ops".into(), "kill-switch".into())),
    }
}

#[test]
fn an_empty_upstream_spec_gets_upstreams_defaults() {
    let plan = upstream(owner(Kind::Upstream), &json!({}), Defaults::default()).unwrap();
    assert_eq!(plan.suffix, "0a1b2c3d4e");
    assert_eq!(plan.run_namespace, "chaostoolkit-run");
    assert_eq!(plan.service_account_name(), "chaostoolkit-0a1b2c3d4e");
    assert_eq!(plan.role_name(), "chaostoolkit-experiment-0a1b2c3d4e");
    assert!(plan.bind);
    assert!(plan.schedule.is_none());
    let pod = plan.pod(Some("chaostoolkit-env"));
    let c = &pod["spec"]["containers"][0];
    assert_eq!(c["image"], "chaostoolkit/chaostoolkit");
    assert_eq!(c["command"], json!(["chaos"]));
    assert_eq!(c["args"], json!(["run", "$(EXPERIMENT_PATH)"]));
    assert_eq!(pod["spec"]["restartPolicy"], "Never");
    assert_eq!(pod["spec"]["serviceAccountName"], "chaostoolkit-0a1b2c3d4e");
    assert_eq!(pod["metadata"]["name"], "chaostoolkit-0a1b2c3d4e-2");
    assert_eq!(
        pod["metadata"]["labels"]["team"], "sre",
        "the CR's labels are copied"
    );
    assert_eq!(pod["metadata"]["labels"][RUN_ID], "0a1b2c3d4e");
    assert_eq!(pod["metadata"]["annotations"][OWNER_NAME], "my-exp");
    let env = c["env"].as_array().unwrap();
    let var = |n: &str| {
        env.iter()
            .find(|e| e["name"] == n)
            .map(|e| e["value"].clone())
    };
    assert_eq!(var("CHAOSTOOLKIT_IN_POD"), Some(json!("true")));
    assert_eq!(
        var("EXPERIMENT_PATH"),
        Some(json!("/home/svc/experiment.json"))
    );
    assert_eq!(
        var("CHAOS_JOURNAL_CONFIGMAP"),
        Some(json!("chaostoolkit-run/$(POD_NAME)-journal"))
    );
    assert_eq!(var("CHAOS_KILL_SWITCH"), None);
    assert_eq!(
        c["envFrom"],
        json!([{"configMapRef": {"name": "chaostoolkit-env"}}])
    );
    assert_eq!(
        pod["spec"]["volumes"][0]["configMap"]["name"],
        "chaostoolkit-experiment"
    );
    let kinds: Vec<_> = plan
        .rbac_objects()
        .iter()
        .map(|o| o["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["ServiceAccount", "Role", "RoleBinding"]);
}

#[test]
fn every_upstream_field_is_honoured() {
    let spec = json!({
        "namespace": "my-run",
        "serviceaccount": {"name": "existing-sa"},
        "role": {"name": "existing-role", "bind": "no", "binds_to_namespaces": ["app-a"]},
        "verbose": true,
        "pod": {
            "image": "ghcr.io/x/chaos:1",
            "chaosCommandPath": "/bin/chaos",
            "chaosArgs": ["run", "", "--rollback-strategy", "always", "$(EXPERIMENT_PATH)"],
            "env": {"configMapName": "my-env", "secretName": "my-secret"},
            "settings": {"enabled": true},
            "experiment": {"configMapName": "exp-cm", "configMapExperimentFileName": "e.yaml"},
        },
        "schedule": {"kind": "cronJob", "value": "*/5 * * * *"},
        "keep_resources_on_delete": true,
    });
    let plan = upstream(owner(Kind::Upstream), &spec, Defaults::default()).unwrap();
    assert_eq!(plan.run_namespace, "my-run");
    assert_eq!(plan.service_account_name(), "existing-sa");
    assert_eq!(plan.role_name(), "existing-role");
    assert!(!plan.bind);
    assert!(plan.keep_resources_on_delete);
    // Only the extra namespace gets a Role and a binding; the primary ones exist.
    let objects = plan.rbac_objects();
    assert_eq!(objects.len(), 2, "{objects:#?}");
    assert!(objects
        .iter()
        .all(|o| o["metadata"]["namespace"] == "app-a"));
    assert_eq!(objects[1]["subjects"][0]["name"], "existing-sa");
    assert_eq!(objects[1]["subjects"][0]["namespace"], "my-run");
    let cron = plan.cronjob(Some("my-env"), false).unwrap();
    assert_eq!(cron["spec"]["schedule"], "*/5 * * * *");
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    let c = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "ghcr.io/x/chaos:1");
    assert_eq!(c["command"], json!(["/bin/chaos"]));
    assert_eq!(
        c["args"],
        json!([
            "--verbose",
            "run",
            "--rollback-strategy",
            "always",
            "$(EXPERIMENT_PATH)"
        ]),
        "empty arguments dropped, --verbose first"
    );
    assert_eq!(
        c["envFrom"],
        json!([{"configMapRef": {"name": "my-env"}}, {"secretRef": {"name": "my-secret"}}])
    );
    let mounts = c["volumeMounts"].as_array().unwrap();
    assert!(mounts.iter().any(|m| m["mountPath"] == "/home/svc/e.yaml"));
    assert!(mounts
        .iter()
        .any(|m| m["mountPath"] == "/home/svc/.chaostoolkit/"));
    let volumes = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"].clone();
    assert_eq!(volumes[1]["secret"]["secretName"], "chaostoolkit-settings");
}

#[test]
fn experiment_as_url_and_a_pod_template() {
    let spec = json!({"pod": {"experiment": {"asFile": false}, "env": {"enabled": false}}});
    let plan = upstream(owner(Kind::Upstream), &spec, Defaults::default()).unwrap();
    let pod = plan.pod(None);
    let c = &pod["spec"]["containers"][0];
    assert_eq!(c["args"], json!(["run", "$(EXPERIMENT_URL)"]));
    assert_eq!(c["envFrom"], json!([]));
    assert_eq!(pod["spec"]["volumes"], json!([]));

    let template = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: mine\n    image: me/chaos\n    args: [run, /x.json]\n";
    let plan = upstream(
        owner(Kind::Upstream),
        &json!({"pod": {"template": template, "image": "ignored"}}),
        defaults(),
    )
    .unwrap();
    let pod = plan.pod(None);
    assert_eq!(pod["spec"]["containers"][0]["image"], "me/chaos");
    assert_eq!(pod["spec"]["restartPolicy"], "Never");
    let env = pod["spec"]["containers"][0]["env"].as_array().unwrap();
    assert!(env.iter().any(
        |e| e["name"] == "CHAOS_KILL_SWITCH" && e["value"] == "configmap:chaos-ops/kill-switch"
    ));
}

#[test]
fn bad_upstream_specs_name_the_field() {
    let err =
        |spec: Value| upstream(owner(Kind::Upstream), &spec, Defaults::default()).unwrap_err();
    assert_eq!(err(json!({"namespace": "Bad_NS"})).field, "namespace");
    assert_eq!(
        err(json!({"pod": {"chaosArgs": "run"}})).field,
        "pod.chaosArgs"
    );
    assert_eq!(
        err(json!({"pod": {"chaosArgs": ["run", {"a": 1}]}})).field,
        "pod.chaosArgs[1]"
    );
    assert_eq!(
        err(json!({"schedule": {"kind": "daily"}})).field,
        "schedule.kind"
    );
    let e = err(json!({"schedule": {"kind": "cronJob", "value": "every minute"}}));
    assert_eq!(e.field, "schedule.value");
    assert!(e.problem.contains("five"), "{e}");
    assert_eq!(
        err(json!({"pod": {"template": "kind: Pod\nspec: {}\n"}})).field,
        "pod.template"
    );
    assert_eq!(
        err(json!({"role": {"binds_to_namespaces": ["ok", 3]}})).field,
        "role.binds_to_namespaces[1]"
    );
    assert_eq!(err(json!({"verbose": 3})).field, "verbose");
    assert_eq!(err(json!(["not", "a", "mapping"])).field, "");
}

#[test]
fn a_shakedown_experiment_and_the_kill_switch_role() {
    let spec: crate::crd::ChaosExperimentSpec = serde_json::from_value(json!({
        "experiment": {"configMapName": "exps"},
        "args": ["--var", "x=1"],
        "schedule": {"cron": "@hourly", "concurrencyPolicy": "Replace"},
    }))
    .unwrap();
    assert_eq!(spec.journal_history_limit, 10);
    let plan = shakedown(owner(Kind::Shakedown), &spec, defaults()).unwrap();
    assert_eq!(plan.run_namespace, "chaostoolkit-crd");
    let cron = plan.cronjob(None, true).unwrap();
    assert_eq!(cron["spec"]["suspend"], true);
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Replace");
    assert_eq!(cron["spec"]["successfulJobsHistoryLimit"], 3);
    let c = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "shakedown:test");
    assert_eq!(
        c["args"],
        json!(["run", "--var", "x=1", "$(EXPERIMENT_PATH)"])
    );
    // The runner may read the kill switch, and only that ConfigMap, in its namespace.
    let objects = plan.rbac_objects();
    let switch_role = objects
        .iter()
        .find(|o| o["kind"] == "Role" && o["metadata"]["namespace"] == "chaos-ops")
        .unwrap();
    assert_eq!(
        switch_role["rules"],
        json!([{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["kill-switch"], "verbs": ["get"]}])
    );
}

#[test]
fn crons_and_journal_pruning() {
    assert!(check_cron("*/5 * * * *").is_ok());
    assert!(check_cron("0 3 * * MON-FRI").is_ok());
    assert!(check_cron("@daily").is_ok());
    assert!(check_cron("@often").is_err());
    assert!(check_cron("* * *").is_err());
    assert!(check_cron("* * * * ;rm").is_err());
    let journals = vec![
        ("j1".to_string(), "2026-12-02T10:00:00Z".to_string()),
        ("j3".to_string(), "2026-12-02T12:00:00Z".to_string()),
        ("j2".to_string(), "2026-12-02T11:00:00Z".to_string()),
    ];
    assert_eq!(journals_to_prune(journals.clone(), 2), ["j1"]);
    assert_eq!(journals_to_prune(journals.clone(), 1), ["j2", "j1"]);
    assert!(journals_to_prune(journals, 5).is_empty());
}

#[test]
fn an_upstream_template_configmap_is_named_as_unread() {
    let plan = upstream(owner(Kind::Upstream), &json!({}), defaults()).unwrap();
    assert_eq!(plan.unread, Vec::<String>::new());
    let spec = json!({"template": {"name": "my-templates"}});
    let plan = upstream(owner(Kind::Upstream), &spec, defaults()).unwrap();
    assert_eq!(
        plan.unread,
        vec![
            "spec.template.name (\"my-templates\") is not read: the objects are built from \
             upstream's default templates; put a custom Pod in spec.pod.template instead"
                .to_string()
        ]
    );
}
