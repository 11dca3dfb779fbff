//! `chaos settings show|get|set|remove` against the reference: every case runs through the
//! Python reference (`target/reference-venv/bin/chaos`, installed by `scripts/reference-venv`)
//! and through our `chaos`, each on its own copy of the same settings file, and the exit
//! codes, the standard outputs and the settings files left behind are compared (the files
//! both as YAML and as text: Shakedown writes what PyYAML writes).

#[allow(dead_code)] // the proxy helper is for commands that reach the network
#[path = "support/reference.rs"]
mod reference;

use reference::{reference_bin, strip_ansi, workspace_root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A typical settings file, written by hand (comments, flow collections, a block scalar,
/// an escaped-dot key, keys out of order).
const SAMPLE: &str = r#"# my settings
runtime:
  rollbacks:
    strategy: always
auths:
  example.com:
    type: bearer
    value: "abc"
  "localhost:8080": {type: basic, value: 'u:p'}
controls:
  - name: tracing
    provider:
      type: python
      module: chaostracing.control
  - name: b
notifications: []
zeta: 1
alpha: hello world
flag: true
ratio: 0.25
nothing:
motd: |
  Welcome.
  Be careful.
"#;

/// Strings and shapes that exercise the YAML writer: quoting, escapes, folding at 80
/// columns, long keys, nested and empty collections (JSON is YAML).
const AWKWARD: &str = r##"{
  "quoting": ["", "yes", "No", "null", "~", "1", "1.5", "0x1F", "1:30", "017", "09", "1e5",
              "=", "<<", "-", "- a", "-a", "a: b", "a:b", "#x", "a #b", "a#b", " lead", "trail ",
              "it's", "\"q\"", "back\\slash", "---x", "...", "? x", "?x", ":x", "@x", "%x",
              "a,b", "[x]", "{x}", "*x", "&x", "!x", "|x", ">x", "'x", "0o17", ".5", "+1",
              "Yes please", "1.0e+5", "1.", "+.nan"],
  "escapes": ["a\tb", "caf\u00e9", "emoji 😀", "\u0000", "\u007f", "\u0085",
              "\u2028", "\ufeff", "\u00a0"],
  "multiline": ["multi\nline", "multi \nline", "a\n b", "x\n", "\nx", "a\n\nb"],
  "folding": {
    "words": "word word word word word word word word word word word word word word word word word word word word word word word word word ",
    "aaaa": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bb cc",
    "quotes": "it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's end\n",
    "unicode": "caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 caf\u00e9 ",
    "nospace": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
  },
  "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk": [1],
  "": "empty key",
  "a\nb": "multiline key",
  "caf\u00e9": "unicode key",
  "numbers": [0, -5, 9223372036854775807, 18446744073709551615, 1e17, 1e-05, 0.1, -0.0, 3.0, 1.5e300, 1.25e-07],
  "shapes": [[1, 2], [], {}, [[{"a": 1}]], {"z": {"y": [{"w": "v", "a": [{"q": 1}]}]}}, null, true, false],
  "z": "last",
  "A": "upper sorts first"
}
"##;

/// One invocation, run by both tools on copies of `file` (None: no settings file).
struct Case {
    name: &'static str,
    file: Option<&'static str>,
    args: &'static [&'static str],
    /// The standard outputs are compared (usage errors print click's or clap's help).
    compare_stdout: bool,
    /// Our standard error must say this (we explain where the reference fails silently or
    /// crashes with a traceback).
    our_error: Option<&'static str>,
    /// The exit code the reference gives (so that a case cannot pass by both tools failing
    /// the same way for an unrelated reason).
    code: i32,
}

const fn case(name: &'static str, file: &'static str, args: &'static [&'static str]) -> Case {
    Case {
        name,
        file: Some(file),
        args,
        compare_stdout: true,
        our_error: None,
        code: 0,
    }
}

const fn failing(
    name: &'static str,
    file: Option<&'static str>,
    args: &'static [&'static str],
    our_error: &'static str,
) -> Case {
    Case {
        name,
        file,
        args,
        compare_stdout: true,
        our_error: Some(our_error),
        code: 1,
    }
}

const fn usage(name: &'static str, args: &'static [&'static str]) -> Case {
    Case {
        name,
        file: Some(SAMPLE),
        args,
        compare_stdout: false,
        our_error: None,
        code: 2,
    }
}

const MALFORMED: &str = "a: [1, 2\nb: c\n";

fn cases() -> Vec<Case> {
    vec![
        // show
        case("show", SAMPLE, &["show"]),
        case("show json", SAMPLE, &["show", "--format", "json"]),
        case("show awkward", AWKWARD, &["show"]),
        case("show awkward json", AWKWARD, &["show", "--format", "json"]),
        case("show empty file", "", &["show"]),
        case("show a list", "- a\n- b\n", &["show"]),
        // get
        case("get scalar", SAMPLE, &["get", "runtime.rollbacks.strategy"]),
        case("get nested mapping", SAMPLE, &["get", "runtime"]),
        case(
            "get mapping json",
            SAMPLE,
            &["get", "--format", "json", "auths"],
        ),
        case(
            "get list string",
            SAMPLE,
            &["get", "--format", "string", "controls"],
        ),
        case(
            "get number string",
            SAMPLE,
            &["get", "--format", "string", "zeta"],
        ),
        case("get number", SAMPLE, &["get", "zeta"]),
        case(
            "get float json",
            SAMPLE,
            &["get", "ratio", "--format", "json"],
        ),
        case("get bool", SAMPLE, &["get", "flag"]),
        case("get null", SAMPLE, &["get", "nothing"]),
        case("get block scalar", SAMPLE, &["get", "motd"]),
        case("get list item", SAMPLE, &["get", "controls[0].provider"]),
        case(
            "get escaped dot",
            SAMPLE,
            &["get", "auths.example\\.com.type"],
        ),
        case(
            "get key with colon",
            SAMPLE,
            &["get", "auths.localhost:8080"],
        ),
        case("get string character", SAMPLE, &["get", "alpha[0]"]),
        case("get empty list", SAMPLE, &["get", "notifications"]),
        case("get awkward", AWKWARD, &["get", "folding"]),
        case(
            "get awkward string",
            AWKWARD,
            &["get", "--format", "string", "escapes"],
        ),
        failing(
            "get missing key",
            Some(SAMPLE),
            &["get", "nope"],
            "no settings entry at 'nope'",
        ),
        failing(
            "get missing index",
            Some(SAMPLE),
            &["get", "controls[7]"],
            "no settings entry",
        ),
        failing(
            "get through a number",
            Some(SAMPLE),
            &["get", "zeta.x"],
            "'zeta' is a number",
        ),
        failing(
            "get through a string",
            Some(SAMPLE),
            &["get", "alpha.ell"],
            "'alpha' is a string",
        ),
        failing(
            "get empty key",
            Some(SAMPLE),
            &["get", ""],
            "the key is empty",
        ),
        failing(
            "get empty index",
            Some(SAMPLE),
            &["get", "controls[]"],
            "empty list index",
        ),
        // set
        case(
            "set nested",
            SAMPLE,
            &["set", "runtime.rollbacks.strategy", "\"never\""],
        ),
        case("set number", SAMPLE, &["set", "zeta", "2"]),
        case("set negative number", SAMPLE, &["set", "--", "zeta", "-5"]),
        case("set float", SAMPLE, &["set", "zeta", "1e17"]),
        case("set bool", SAMPLE, &["set", "flag", "false"]),
        case("set null", SAMPLE, &["set", "flag", "null"]),
        case(
            "set string that looks like a number",
            SAMPLE,
            &["set", "zeta", "\"2\""],
        ),
        case(
            "set string",
            SAMPLE,
            &["set", "alpha", "\"caf\\u00e9 it's: yes\""],
        ),
        case(
            "set object",
            SAMPLE,
            &[
                "set",
                "zeta",
                "{\"b\": 1, \"a\": [1, {\"z\": 2, \"y\": null}], \"c\": {}}",
            ],
        ),
        case("set list item", SAMPLE, &["set", "controls[1]", "\"c\""]),
        case(
            "set inside a list item",
            SAMPLE,
            &["set", "controls[0].name", "\"t\""],
        ),
        case(
            "set rewrites the awkward file",
            AWKWARD,
            &["set", "z", "\"changed\""],
        ),
        failing(
            "set new key",
            Some(SAMPLE),
            &["set", "newkey", "\"x\""],
            "no settings entry at 'newkey'",
        ),
        failing(
            "set new nested key",
            Some(SAMPLE),
            &["set", "runtime.rollbacks.new", "1"],
            "no settings entry",
        ),
        failing(
            "set a value that is not JSON",
            Some(SAMPLE),
            &["set", "zeta", "hello"],
            "the value must be JSON",
        ),
        failing(
            "set a character",
            Some(SAMPLE),
            &["set", "alpha[0]", "\"x\""],
            "characters of a string",
        ),
        // remove
        case("remove key", SAMPLE, &["remove", "flag"]),
        case("remove nested", SAMPLE, &["remove", "runtime.rollbacks"]),
        case("remove list item", SAMPLE, &["remove", "controls[0]"]),
        case(
            "remove first equal list item",
            "l: [1, 2, 1]\n",
            &["remove", "l[2]"],
        ),
        case(
            "remove escaped dot",
            SAMPLE,
            &["remove", "auths.example\\.com"],
        ),
        failing(
            "remove missing key",
            Some(SAMPLE),
            &["remove", "nope"],
            "no settings entry at 'nope'",
        ),
        // a missing or malformed settings file
        failing(
            "show missing file",
            None,
            &["show"],
            "No settings file found at",
        ),
        failing(
            "get missing file",
            None,
            &["get", "a"],
            "No settings file found at",
        ),
        failing(
            "set missing file",
            None,
            &["set", "a", "1"],
            "No settings file found at",
        ),
        failing(
            "remove missing file",
            None,
            &["remove", "a"],
            "No settings file found at",
        ),
        Case {
            our_error: Some("Failed parsing YAML settings: "),
            ..case("show malformed file", MALFORMED, &["show"])
        },
        failing(
            "get malformed file",
            Some(MALFORMED),
            &["get", "a"],
            "Failed parsing YAML settings: ",
        ),
        failing(
            "set malformed file",
            Some(MALFORMED),
            &["set", "b", "1"],
            "no settings entry at 'b'",
        ),
        failing(
            "get in a list document",
            Some("- a\n"),
            &["get", "a"],
            "the settings are a list",
        ),
        // usage errors: exit 2
        usage("no subcommand", &[]),
        usage("get without key", &["get"]),
        usage("bad format", &["get", "--format", "xml", "zeta"]),
        usage("show string format", &["show", "--format", "string"]),
        usage("negative number without --", &["set", "zeta", "-5"]),
        usage("set extra argument", &["set", "zeta", "1", "2"]),
    ]
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The settings file afterwards, if there is one.
    file: Option<String>,
    #[cfg(unix)]
    mode: Option<u32>,
}

fn run(bin: &Path, dir: &Path, case: &Case) -> Outcome {
    std::fs::create_dir_all(dir).expect("case directory");
    let settings = dir.join("settings.yaml");
    if let Some(text) = case.file {
        std::fs::write(&settings, text).expect("write the settings file");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&settings, std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
        }
    }
    let output: Output = Command::new(bin)
        .args(["--no-version-check", "--no-log-file", "--settings"])
        .arg(&settings)
        .arg("settings")
        .args(case.args)
        .current_dir(dir)
        .env("CHAOS_COLOR", "never")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: strip_ansi(&String::from_utf8_lossy(&output.stderr)),
        file: std::fs::read_to_string(&settings).ok(),
        #[cfg(unix)]
        mode: {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&settings)
                .ok()
                .map(|m| m.permissions().mode() & 0o777)
        },
    }
}

fn as_yaml(text: &str) -> Result<experiment::Value, String> {
    experiment::yaml::parse_yaml(text)
        .map(|(v, _)| v)
        .map_err(|e| e.to_string())
}

fn compare(case: &Case, reference: &Outcome, ours: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    if reference.code != Some(case.code) {
        problems.push(format!(
            "the reference exited {:?}, the case expects {}",
            reference.code, case.code
        ));
    }
    if reference.code != ours.code {
        problems.push(format!(
            "exit code: reference {:?}, ours {:?}",
            reference.code, ours.code
        ));
    }
    if case.compare_stdout && reference.stdout != ours.stdout {
        problems.push(format!(
            "stdout differs\n--- reference\n{}\n--- ours\n{}",
            reference.stdout, ours.stdout
        ));
    }
    match (&reference.file, &ours.file) {
        (Some(r), Some(o)) => {
            if r != o {
                problems.push(format!(
                    "settings file text differs\n--- reference\n{r}\n--- ours\n{o}"
                ));
                if as_yaml(r) != as_yaml(o) {
                    problems.push("the settings files differ as YAML too".into());
                }
            }
        }
        (None, None) => {}
        (r, o) => problems.push(format!(
            "settings file: reference {}, ours {}",
            if r.is_some() { "present" } else { "absent" },
            if o.is_some() { "present" } else { "absent" }
        )),
    }
    #[cfg(unix)]
    if reference.mode != ours.mode {
        let octal = |m: Option<u32>| m.map_or("none".to_string(), |m| format!("{m:o}"));
        problems.push(format!(
            "file mode: reference {}, ours {}",
            octal(reference.mode),
            octal(ours.mode)
        ));
    }
    if ours.stderr.contains("panicked") {
        problems.push(format!("ours panicked:\n{}", ours.stderr));
    }
    if let Some(expected) = case.our_error {
        if !ours.stderr.contains(expected) {
            problems.push(format!(
                "our stderr does not say {expected:?}:\n{}",
                ours.stderr
            ));
        }
    }
    // A failing command never changes the file.
    if ours.code != Some(0) && ours.file.as_deref() != case.file {
        problems.push("ours changed the settings file although it failed".into());
    }
    if !problems.is_empty() {
        problems.push(format!("reference stderr:\n{}", reference.stderr));
        problems.push(format!("our stderr:\n{}", ours.stderr));
    }
    problems
}

fn scratch(test: &str) -> PathBuf {
    let dir = workspace_root()
        .join("target/tmp")
        .join(format!("settings-command-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

#[test]
fn settings_commands_behave_as_the_reference() {
    assert!(
        reference_bin().exists(),
        "the reference is missing at {}: run scripts/reference-venv",
        reference_bin().display()
    );
    let ours_bin = PathBuf::from(env!("CARGO_BIN_EXE_chaos"));
    let root = scratch("differential");
    let mut failures = Vec::new();
    for (n, case) in cases().iter().enumerate() {
        let (reference, ours) = std::thread::scope(|s| {
            let r = s.spawn(|| run(&reference_bin(), &root.join(format!("{n}-reference")), case));
            let o = run(&ours_bin, &root.join(format!("{n}-ours")), case);
            (r.join().expect("reference run"), o)
        });
        let problems = compare(case, &reference, &ours);
        if !problems.is_empty() {
            failures.push(format!(
                "case '{}' (settings {}):\n  {}",
                case.name,
                case.args.join(" "),
                problems.join("\n  ")
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        failures.is_empty(),
        "{} case(s) differ from the reference:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The differential cases above check the outputs; this checks that a change never goes
/// through a half-written file: the file is replaced by a rename, so a reader holding the
/// old file keeps reading the old text, and no temporary file is left behind.
#[test]
fn set_replaces_the_file_in_one_step() {
    let dir = scratch("atomic");
    let settings = dir.join("settings.yaml");
    std::fs::write(&settings, SAMPLE).expect("write");
    let before = std::fs::File::open(&settings).expect("open");
    let status = Command::new(env!("CARGO_BIN_EXE_chaos"))
        .args(["--no-log-file", "--settings"])
        .arg(&settings)
        .args(["settings", "set", "zeta", "2"])
        .current_dir(&dir)
        .status()
        .expect("run chaos");
    assert!(status.success());
    let mut old = String::new();
    std::io::Read::read_to_string(&mut &before, &mut old).expect("read the old file");
    assert_eq!(old, SAMPLE, "the open file still holds the old text");
    let now = std::fs::read_to_string(&settings).expect("read");
    assert!(now.contains("zeta: 2\n"), "{now}");
    let names: Vec<_> = std::fs::read_dir(&dir)
        .expect("list")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["settings.yaml"], "no temporary file left behind");
    let _ = std::fs::remove_dir_all(&dir);
}
