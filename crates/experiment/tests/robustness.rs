//! The fuzz target's body (fuzz/fuzz_targets/load_validate.rs) over hostile inputs: no
//! panic, no stack overflow, bounded work.

use experiment::load::{parse, Format};
use experiment::validate::validate;
use experiment::vars::Overrides;
use experiment::EmptyCatalog;

fn body(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for format in [Format::Json, Format::Yaml] {
        if let Ok(loaded) = parse(&text, format, "fuzz") {
            let _ = validate(&loaded.value, &EmptyCatalog, &Overrides::default());
            let _ = loaded.positions.get("");
        }
    }
}

#[test]
fn hostile_inputs_do_not_panic() {
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![0xff, 0xfe, 0x00, 0x80],
        b"\x00\x01\x02{[".to_vec(),
        "[".repeat(50_000).into_bytes(),
        "{\"a\":".repeat(50_000).into_bytes(),
        "- ".repeat(50_000).into_bytes(),
        "a:\n ".repeat(5_000).into_bytes(),
        b"&a [*a]".to_vec(),
        b"a: &x 1\nb: *y\n".to_vec(),
        b"title: t\ndescription: d\nmethod:\n  - {ref: 1}\n  - 3\n  - [1]\n".to_vec(),
        b"title: t\ndescription: d\nmethod: []\ncontrols: {a: 1}\n".to_vec(),
        b"title: t\ndescription: d\nmethod: []\nsteady-state-hypothesis: {title: h, probes: [{ref: x, tolerance: {type: range, range: [1]}}]}\n".to_vec(),
        br#"{"title":"t","description":"d","method":[{"type":"probe","name":"n","provider":{"type":"python","module":"m","func":"f"},"pauses":{"before":{"x":1}}}]}"#.to_vec(),
        "\u{feff}title: \u{1F600}\n".as_bytes().to_vec(),
    ];
    let mut laughs = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..12 {
        let prev = if i == 1 {
            "a".to_string()
        } else {
            format!("a{}", i - 1)
        };
        laughs.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*{prev}"); 9].join(",")
        ));
    }
    inputs.push(laughs.into_bytes());
    for input in &inputs {
        body(input);
    }
}

#[test]
fn large_flat_document_loads() {
    let mut s = String::from("title: t\ndescription: d\nmethod:\n");
    for i in 0..20_000 {
        s.push_str(&format!(
            "  - {{type: action, name: a{i}, provider: {{type: http, url: 'http://x/{i}'}}}}\n"
        ));
    }
    let loaded = parse(&s, Format::Yaml, "big.yaml").unwrap();
    assert_eq!(loaded.value["method"].as_array().unwrap().len(), 20_000);
    assert_eq!(
        loaded.positions.get("method[19999].provider.url"),
        Some((20_003, 57))
    );
    assert!(validate(&loaded.value, &EmptyCatalog, &Overrides::default()).is_ok());
}
