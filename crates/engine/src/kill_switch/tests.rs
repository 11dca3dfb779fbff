//! Resolution (every precedence rule), the sources' semantics, and the watcher's timing on
//! tokio's paused clock. The whole switch against real runs, files, an HTTP server and a
//! ConfigMap is tested in `crates/cli/tests/kill_switch.rs`.

use super::*;
use serde_json::json;
use std::sync::Mutex;

fn file(path: &str) -> Spec {
    Spec::File(PathBuf::from(path))
}

#[test]
fn specs_name_a_file_a_url_or_a_configmap() {
    assert_eq!(Spec::parse("/run/stop", "t"), Ok(file("/run/stop")));
    assert_eq!(Spec::parse("file:./stop", "t"), Ok(file("./stop")));
    assert_eq!(
        Spec::parse("http://127.0.0.1:9/switch", "t"),
        Ok(Spec::Http("http://127.0.0.1:9/switch".into()))
    );
    assert_eq!(
        Spec::parse("configmap:chaos/kill-switch", "t"),
        Ok(Spec::ConfigMap {
            namespace: "chaos".into(),
            name: "kill-switch".into()
        })
    );
    for bad in [
        "configmap:chaos",
        "configmap:/x",
        "configmap:a/b/c",
        "ftp://x/y",
        "file:",
    ] {
        let Err(e) = Spec::parse(bad, "--kill-switch") else {
            panic!("{bad} parsed");
        };
        assert!(
            e.to_string()
                .contains(&format!("'{bad}' (from --kill-switch)")),
            "{e}"
        );
    }
}

#[test]
fn the_flag_wins_over_the_environment_which_wins_over_the_settings() {
    let settings = json!({"runtime": {"kill_switch": "/from/settings"}});
    let spec = |flag, env| {
        resolve(flag, env, None, &settings)
            .ok()
            .flatten()
            .map(|c| c.spec)
    };
    assert_eq!(spec(Some("/flag"), Some("/env")), Some(file("/flag")));
    assert_eq!(spec(None, Some("/env")), Some(file("/env")));
    assert_eq!(spec(None, None), Some(file("/from/settings")));
    // An empty flag or variable turns a switch from further down off.
    assert_eq!(spec(Some(""), Some("/env")), None);
    assert_eq!(spec(None, Some("")), None);
    assert_eq!(resolve(None, None, None, &json!({})), Ok(None));
}

#[test]
fn an_unreadable_switch_stops_unless_the_environment_or_the_settings_say_continue() {
    let settings = json!({"runtime": {"kill_switch": {"source": "/s", "unreadable": "continue"}}});
    let unreadable = |env, settings: &Value| {
        resolve(None, None, env, settings)
            .ok()
            .flatten()
            .map(|c| c.unreadable)
    };
    assert_eq!(unreadable(None, &settings), Some(Unreadable::Continue));
    assert_eq!(unreadable(Some("stop"), &settings), Some(Unreadable::Stop));
    let plain = json!({"runtime": {"kill_switch": "/s"}});
    assert_eq!(unreadable(None, &plain), Some(Unreadable::Stop));
    assert_eq!(
        unreadable(Some("continue"), &plain),
        Some(Unreadable::Continue)
    );
    let Err(e) = resolve(None, None, Some("maybe"), &plain) else {
        panic!("accepted");
    };
    assert!(e.to_string().contains("stop or continue"), "{e}");
}

#[tokio::test]
async fn a_file_is_on_while_it_exists_unless_it_says_off() {
    let dir = std::env::temp_dir().join(format!("kill-switch-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("stop");
    let _ = std::fs::remove_file(&path);
    let switch = FileSwitch(path.clone());
    assert_eq!(switch.is_on().await, Ok(false));
    std::fs::write(&path, "").expect("touch");
    assert_eq!(switch.is_on().await, Ok(true));
    std::fs::write(&path, "off\n").expect("write");
    assert_eq!(switch.is_on().await, Ok(false));
    std::fs::write(&path, "on").expect("write");
    assert_eq!(switch.is_on().await, Ok(true));
    std::fs::write(&path, "perhaps").expect("write");
    let Err(e) = switch.is_on().await else {
        panic!("read");
    };
    assert!(e.0.contains(&format!("file {}", path.display())), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A source whose answers the test scripts, counting reads.
struct Scripted {
    answers: Mutex<Vec<Result<bool, SwitchError>>>,
    reads: Mutex<u32>,
}

impl Scripted {
    fn new(mut answers: Vec<Result<bool, SwitchError>>) -> Arc<Self> {
        answers.reverse();
        Arc::new(Scripted {
            answers: Mutex::new(answers),
            reads: Mutex::new(0),
        })
    }

    fn reads(&self) -> u32 {
        *self.reads.lock().expect("reads")
    }
}

impl SwitchSource for Scripted {
    fn describe(&self) -> String {
        "scripted".into()
    }
    fn how_to_turn_off(&self) -> String {
        "stop the script".into()
    }
    fn is_on(&self) -> BoxFuture<'_, Result<bool, SwitchError>> {
        Box::pin(async move {
            *self.reads.lock().expect("reads") += 1;
            self.answers
                .lock()
                .expect("answers")
                .pop()
                .unwrap_or(Ok(false))
        })
    }
}

fn unreadable() -> Result<bool, SwitchError> {
    Err(SwitchError("no answer".into()))
}

#[tokio::test]
async fn a_run_may_not_start_while_the_switch_is_on_or_unreadable() {
    let on = KillSwitch::new(Scripted::new(vec![Ok(true)]), Unreadable::Stop);
    let Err(Refusal::On {
        how_to_turn_off, ..
    }) = on.check().await
    else {
        panic!("started");
    };
    assert_eq!(how_to_turn_off, "stop the script");
    let broken = KillSwitch::new(Scripted::new(vec![unreadable()]), Unreadable::Stop);
    assert!(matches!(
        broken.check().await,
        Err(Refusal::Unreadable { .. })
    ));
    let tolerant = KillSwitch::new(Scripted::new(vec![unreadable()]), Unreadable::Continue);
    assert_eq!(tolerant.check().await, Ok(()));
    let off = KillSwitch::new(Scripted::new(vec![Ok(false)]), Unreadable::Stop);
    assert_eq!(off.check().await, Ok(()));
}

#[tokio::test(start_paused = true)]
async fn the_watcher_interrupts_at_the_first_read_that_finds_the_switch_on() {
    let source = Scripted::new(vec![Ok(false), Ok(false), Ok(true)]);
    let switch = Arc::new(KillSwitch::new(source.clone(), Unreadable::Stop));
    let interrupter = Arc::new(Interrupter::new());
    let started = tokio::time::Instant::now();
    switch.watch(interrupter.clone()).await;
    assert_eq!(source.reads(), 3);
    assert_eq!(started.elapsed(), INTERVAL * 3);
    assert_eq!(
        interrupter.pending(),
        Some(crate::interrupt::Interruption::KillSwitch)
    );
    let reason = interrupter.kill_switch_reason().unwrap_or_default();
    assert!(
        reason.starts_with("The kill switch (scripted) is on"),
        "{reason}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_switch_interrupts_after_the_limit_of_failed_reads_in_a_row() {
    // A good read in between starts the count again.
    let source = Scripted::new(vec![
        unreadable(),
        unreadable(),
        Ok(false),
        unreadable(),
        unreadable(),
        unreadable(),
    ]);
    let switch = Arc::new(KillSwitch::new(source.clone(), Unreadable::Stop));
    let interrupter = Arc::new(Interrupter::new());
    switch.watch(interrupter.clone()).await;
    assert_eq!(source.reads(), 3 + UNREADABLE_LIMIT);
    let reason = interrupter.kill_switch_reason().unwrap_or_default();
    assert!(
        reason.contains("cannot be read (no answer), so it counts as on"),
        "{reason}"
    );
}

#[tokio::test(start_paused = true)]
async fn with_continue_an_unreadable_switch_never_interrupts() {
    let source = Scripted::new((0..10).map(|_| unreadable()).collect());
    let switch = Arc::new(KillSwitch::new(source.clone(), Unreadable::Continue));
    let interrupter = Arc::new(Interrupter::new());
    let watching = tokio::spawn(switch.watch(interrupter.clone()));
    tokio::time::sleep(INTERVAL * 12 + INTERVAL / 2).await;
    assert!(!watching.is_finished());
    assert_eq!(source.reads(), 12);
    assert_eq!(interrupter.pending(), None);
    watching.abort();
}

#[test]
fn once_the_rollbacks_started_the_switch_interrupts_nothing() {
    let interrupter = Interrupter::new();
    interrupter.enter_rollbacks();
    interrupter.trigger_kill_switch("on".into());
    assert_eq!(interrupter.pending(), None);
}
