use super::*;
use crate::policy::{Clone, ExtraProxy, Toxic};

fn source() -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "resourceVersion": "7"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "front"}},
                "spec": {"containers": [
                    {"name": "web", "image": "nginx", "ports": [{"containerPort": 8080}, {"containerPort": 10000}]},
                    {"name": "side", "image": "busybox"}
                ]}
            }
        }
    })
}

fn step(mutations: Vec<Mutation>, labels: Vec<CloneLabel>) -> Clone {
    Clone {
        source: ServiceRef {
            name: "web".into(),
            namespace: "shop".into(),
        },
        replicas: 2,
        services_to_retarget: vec![],
        labels,
        mutations,
    }
}

fn toxi(image: Option<&str>, cli: Option<&str>) -> Mutation {
    Mutation::Toxiproxy(ToxiproxyMutation {
        user: 0,
        image_iptables: "gaiadocker/iproute2:latest".into(),
        image_toxiproxy: image.map(String::from),
        toxiproxy_cli: cli.map(String::from),
        proxies: vec![ExtraProxy {
            name: "db".into(),
            listen: "127.0.0.1:15432".into(),
            upstream: "db:5432".into(),
        }],
        toxics: vec![
            Toxic {
                target_proxy: "8080".into(),
                toxic_type: "latency".into(),
                attributes: vec![("latency".into(), 250.0), ("jitter".into(), 2.5)],
            },
            Toxic {
                target_proxy: "db".into(),
                toxic_type: "timeout".into(),
                attributes: vec![],
            },
        ],
    })
}

#[test]
fn the_clone_carries_upstreams_metadata_labels_and_replicas() {
    let b = clone_body(
        &source(),
        &step(
            vec![],
            vec![CloneLabel::Label {
                key: "track".into(),
                value: "canary".into(),
            }],
        ),
        "latency",
        &[],
        "img",
        "t0k",
    )
    .unwrap();
    assert_eq!(b["metadata"]["name"], "web-chaos");
    assert_eq!(b["metadata"]["namespace"], "shop");
    assert_eq!(
        b["metadata"]["annotations"],
        json!({"original_deployment": "web", "chaos_scenario": "latency", TOKEN_ANNOTATION: "t0k"})
    );
    assert_eq!(b["metadata"]["labels"], json!({"chaos": "true"}));
    assert!(b["metadata"].get("uid").is_none() && b["metadata"].get("resourceVersion").is_none());
    assert_eq!(b["spec"]["replicas"], 2);
    let want = json!({"app": "web", "track": "canary", "chaos": "true"});
    assert_eq!(b["spec"]["selector"]["matchLabels"], want);
    assert_eq!(
        b["spec"]["template"]["metadata"]["labels"],
        json!({"app": "web", "tier": "front", "track": "canary", "chaos": "true"})
    );
}

#[test]
fn a_service_label_modifier_replaces_the_labels_with_its_selector() {
    let mut sel = Map::new();
    sel.insert("svc".into(), json!("web-svc"));
    let b = clone_body(
        &source(),
        &step(
            vec![],
            vec![CloneLabel::Service(ServiceRef {
                name: "s".into(),
                namespace: "shop".into(),
            })],
        ),
        "x",
        &[sel],
        "img",
        "t",
    )
    .unwrap();
    let want = json!({"svc": "web-svc", "chaos": "true"});
    assert_eq!(b["spec"]["selector"]["matchLabels"], want);
    assert_eq!(b["spec"]["template"]["metadata"]["labels"], want);
}

#[test]
fn match_expressions_are_refused_as_upstream() {
    let mut s = source();
    s["spec"]["selector"]["matchExpressions"] = json!([{"key": "a", "operator": "Exists"}]);
    let e = clone_body(&s, &step(vec![], vec![]), "x", &[], "img", "t").unwrap_err();
    assert!(e.contains("matchExpressions"), "{e}");
}

#[test]
fn environment_and_tc_mutations_reach_every_container_and_add_init_containers() {
    let b = clone_body(
        &source(),
        &step(
            vec![
                Mutation::Environment {
                    name: "MODE".into(),
                    value: "chaos".into(),
                },
                Mutation::Tc {
                    command: vec!["tc".into()],
                    args: vec!["qdisc".into(), "add".into()],
                    user: 0,
                    image: "iproute".into(),
                },
                Mutation::Tc {
                    command: vec!["tc".into()],
                    args: vec![],
                    user: 7,
                    image: "iproute".into(),
                },
            ],
            vec![],
        ),
        "x",
        &[],
        "img",
        "t",
    )
    .unwrap();
    let spec = &b["spec"]["template"]["spec"];
    for c in spec["containers"].as_array().unwrap() {
        assert_eq!(c["env"], json!([{"name": "MODE", "value": "chaos"}]));
    }
    assert_eq!(
        spec["initContainers"],
        json!([
            {"name": "chaos1", "image": "iproute", "command": ["tc"], "args": ["qdisc", "add"],
             "securityContext": {"runAsUser": 0, "capabilities": {"add": ["NET_ADMIN"]}}},
            {"name": "chaos2", "image": "iproute", "command": ["tc"],
             "securityContext": {"runAsUser": 7, "capabilities": {"add": ["NET_ADMIN"]}}}
        ])
    );
}

#[test]
fn the_toxiproxy_sidecar_is_shakedowns_image_and_its_probe_runs_the_cli_without_a_shell() {
    let b = clone_body(
        &source(),
        &step(vec![toxi(None, None)], vec![]),
        "x",
        &[],
        "registry/shakedown:9",
        "t",
    )
    .unwrap();
    let spec = &b["spec"]["template"]["spec"];
    let side = &spec["containers"][2];
    assert_eq!(side["name"], "chaos-toxiproxy");
    assert_eq!(side["image"], "registry/shakedown:9");
    assert_eq!(
        side["args"],
        json!(["proxy", "serve", "--host", "0.0.0.0", "--port", "8474"])
    );
    let cli = "/usr/local/bin/toxiproxy-cli";
    // 8080 and 10000 are declared: 8080 maps to 10001 (10000 is taken), 10000 to 10002.
    assert_eq!(
        side["startupProbe"]["exec"]["command"],
        json!([
            "/usr/local/bin/chaos",
            "seal",
            "chain",
            "--",
            cli,
            "create",
            "-l",
            "127.0.0.1:15432",
            "-u",
            "db:5432",
            "db",
            "&&",
            cli,
            "create",
            "-l",
            "0.0.0.0:10001",
            "-u",
            "127.0.0.1:8080",
            "auto8080",
            "&&",
            cli,
            "create",
            "-l",
            "0.0.0.0:10002",
            "-u",
            "127.0.0.1:10000",
            "auto10000",
            "&&",
            cli,
            "toxic",
            "add",
            "-t",
            "latency",
            "-a",
            "latency=250",
            "-a",
            "jitter=2.5",
            "auto8080",
            "&&",
            cli,
            "toxic",
            "add",
            "-t",
            "timeout",
            "db"
        ])
    );
    let init = &spec["initContainers"][0];
    assert_eq!(init["name"], "iptables-setup");
    assert_eq!(init["image"], "gaiadocker/iproute2:latest");
    assert_eq!(
        init["securityContext"]["capabilities"]["add"],
        json!(["NET_ADMIN"])
    );
    assert_eq!(
        init["command"],
        json!(["/bin/sh", "-c", "iptables -t filter -A INPUT -s 127.0.0.1 -j ACCEPT \
&& iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 8080 -j REDIRECT --to-port 10001 -m comment --comment \"auto8080\" \
&& iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 10000 -j REDIRECT --to-port 10002 -m comment --comment \"auto10000\" \
&& echo \"iptables rules setup successfully: 8080->10001, 10000->10002\""])
    );
}

#[test]
fn a_named_toxiproxy_image_gets_upstreams_shell_probe_and_cli_path() {
    let b = clone_body(
        &source(),
        &step(vec![toxi(Some("shopify/toxiproxy:2.1.4"), None)], vec![]),
        "x",
        &[],
        "img",
        "t",
    )
    .unwrap();
    let side = &b["spec"]["template"]["spec"]["containers"][2];
    assert_eq!(side["image"], "shopify/toxiproxy:2.1.4");
    assert!(side.get("args").is_none());
    let cmd = side["startupProbe"]["exec"]["command"].as_array().unwrap();
    assert_eq!(cmd[..2], [json!("/bin/sh"), json!("-c")]);
    assert_eq!(
        cmd[2],
        "true && /go/bin/toxiproxy-cli create -l 127.0.0.1:15432 -u db:5432 db \
&& /go/bin/toxiproxy-cli create -l 0.0.0.0:10001 -u 127.0.0.1:8080 auto8080 \
&& /go/bin/toxiproxy-cli create -l 0.0.0.0:10002 -u 127.0.0.1:10000 auto10000 \
&& /go/bin/toxiproxy-cli toxic add -t latency -a latency=250 -a jitter=2.5 auto8080 \
&& /go/bin/toxiproxy-cli toxic add -t timeout db"
    );
}

#[test]
fn python_ints_and_shell_words() {
    assert!(is_python_int("8080") && is_python_int(" +80 ") && is_python_int("1_000"));
    assert!(!is_python_int("db") && !is_python_int("") && !is_python_int("8080a"));
    assert_eq!(sh_quote("a=b"), "a=b");
    assert_eq!(sh_quote("it's"), r"'it'\''s'");
}
