//! `chaos init`: an interactive experiment scaffold, following the reference's wizard.
//!
//! Differences on purpose: the result is always a valid experiment (`method: []` even
//! without a discovery file), and tolerances typed as numbers or booleans keep their type.

use crate::args::InitArgs;
use experiment::{Map, Value};
use serde_json::json;
use std::io::{BufRead, Write};

const INTRO: &str = "You are about to create an experiment.
This wizard will walk you through each step so that you can build
the best experiment for your needs.

An experiment is made up of three elements:
- a steady-state hypothesis [OPTIONAL]
- an experimental method
- a set of rollback activities [OPTIONAL]

Only the method is required. Also your experiment will
not run unless you define at least one activity (probe or action)
within it";

struct Prompter<R, W> {
    input: R,
    output: W,
}

impl<R: BufRead, W: Write> Prompter<R, W> {
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.output, "{text}");
    }

    /// Asks until a non-empty answer (or the default) is given; `None` at end of input.
    fn ask(&mut self, question: &str, default: Option<&str>) -> Option<String> {
        loop {
            match default {
                Some(d) => write!(self.output, "{question} [{d}]: "),
                None => write!(self.output, "{question}: "),
            }
            .ok()?;
            self.output.flush().ok()?;
            let mut line = String::new();
            if self.input.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let answer = line.trim();
            if !answer.is_empty() {
                return Some(answer.to_string());
            }
            if let Some(d) = default {
                return Some(d.to_string());
            }
        }
    }

    fn confirm(&mut self, question: &str) -> Option<bool> {
        loop {
            let answer = self.ask(&format!("{question} [y/N]"), Some(""))?;
            match answer.to_ascii_lowercase().as_str() {
                "" | "n" | "no" => return Some(false),
                "y" | "yes" => return Some(true),
                _ => self.say("Error: invalid input"),
            }
        }
    }
}

pub fn init(args: InitArgs) -> u8 {
    let stdin = std::io::stdin();
    let mut prompter = Prompter {
        input: stdin.lock(),
        output: std::io::stdout(),
    };
    match wizard(&mut prompter, &args) {
        Some(experiment) => match save(&args.experiment_path, &experiment) {
            Ok(()) => {
                prompter.say(&format!(
                    "\nExperiment created and saved in '{}'",
                    args.experiment_path.display()
                ));
                0
            }
            Err(e) => {
                log::error!("cannot write '{}': {e}", args.experiment_path.display());
                1
            }
        },
        None => {
            log::error!(
                "the wizard was interrupted: input ended before the experiment was complete"
            );
            1
        }
    }
}

fn wizard<R: BufRead, W: Write>(p: &mut Prompter<R, W>, args: &InitArgs) -> Option<Value> {
    p.say(INTRO);
    let discovery: Option<Value> = std::fs::read_to_string(&args.discovery_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    if discovery.is_none() {
        p.say("No discovery was found, let's create an empty experiment");
    }
    let activities: Vec<Value> = discovery
        .as_ref()
        .and_then(|d| d.get("activities"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let of_type = |t: &str| -> Vec<Value> {
        activities
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) == Some(t))
            .cloned()
            .collect()
    };

    let mut experiment = Map::new();
    experiment.insert(
        "title".into(),
        Value::String(p.ask("Experiment's title", None)?),
    );
    experiment.insert("description".into(), "N/A".into());
    experiment.insert("tags".into(), json!([]));

    if p.confirm("Do you want to define a steady state hypothesis now?")? {
        let title = p.ask("Hypothesis's title", None)?;
        let mut probes = Vec::new();
        if discovery.is_some() {
            p.say(
                "\nYou may now define probes that will determine\nthe steady-state of your system.",
            );
            add_activities(p, &of_type("probe"), &mut probes, true)?;
        }
        experiment.insert(
            "steady-state-hypothesis".into(),
            json!({"title": title, "probes": probes}),
        );
    }
    let mut method = Vec::new();
    if discovery.is_some() && p.confirm("Do you want to define an experimental method?")? {
        add_activities(p, &activities, &mut method, false)?;
    }
    experiment.insert("method".into(), Value::Array(method));
    if discovery.is_some() && p.confirm("Do you want to add some rollbacks now?")? {
        let mut rollbacks = Vec::new();
        add_activities(p, &of_type("action"), &mut rollbacks, false)?;
        experiment.insert("rollbacks".into(), Value::Array(rollbacks));
    }
    Some(Value::Object(experiment))
}

fn add_activities<R: BufRead, W: Write>(
    p: &mut Prompter<R, W>,
    choices: &[Value],
    pool: &mut Vec<Value>,
    with_tolerance: bool,
) -> Option<()> {
    loop {
        p.say("Add an activity");
        for (i, a) in choices.iter().enumerate() {
            let name = a.get("name").and_then(Value::as_str).unwrap_or("?");
            p.say(&format!("{}) {name}", i + 1));
        }
        let index: usize = match p.ask("Activity (0 to escape)", None)?.parse() {
            Ok(0) => return Some(()),
            Ok(n) if n <= choices.len() => n - 1,
            _ => {
                p.say("Please pick up a valid activity");
                continue;
            }
        };
        let selected = &choices[index];
        let kind = selected
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("probe");
        if let Some(doc) = selected.get("doc").and_then(Value::as_str) {
            p.say(&format!("\n{doc}"));
        }
        if !p.confirm(&format!("Do you want to use this {kind}?"))? {
            if !p.confirm("Do you want to select another activity?")? {
                return Some(());
            }
            continue;
        }
        let mut activity = Map::new();
        activity.insert("type".into(), kind.into());
        activity.insert(
            "name".into(),
            selected.get("name").cloned().unwrap_or(Value::Null),
        );
        if with_tolerance {
            let typed = p.ask("What is the tolerance for this probe?", None)?;
            activity.insert("tolerance".into(), scalar(&typed));
        }
        let mut arguments = Map::new();
        for arg in selected
            .get("arguments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = arg.get("name").and_then(Value::as_str).unwrap_or("");
            if name.is_empty() || name == "secrets" || name == "configuration" {
                continue;
            }
            let default = arg.get("default").map(|d| match d {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            let answer = p.ask(
                &format!("Argument's value for '{name}'"),
                default.as_deref(),
            )?;
            let value = if answer.is_empty() && arg.get("default") == Some(&Value::Null) {
                Value::Null
            } else {
                scalar(&answer)
            };
            arguments.insert(name.into(), value);
        }
        activity.insert(
            "provider".into(),
            json!({
                "type": "python",
                "module": selected.get("mod").cloned().unwrap_or(Value::Null),
                "func": selected.get("name").cloned().unwrap_or(Value::Null),
                "arguments": arguments,
            }),
        );
        pool.push(Value::Object(activity));
        if !p.confirm("Do you want to select another activity?")? {
            return Some(());
        }
    }
}

/// A typed-in value: JSON when it parses (numbers, booleans, lists), else the text.
fn scalar(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

fn save(path: &std::path::Path, experiment: &Value) -> std::io::Result<()> {
    let is_yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let text = if is_yaml {
        let mut out = String::new();
        let doc = json_to_yaml(experiment);
        let mut emitter = yaml_rust2::YamlEmitter::new(&mut out);
        emitter
            .dump(&doc)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        out.push('\n');
        out
    } else {
        serde_json::to_string_pretty(experiment).map_err(std::io::Error::other)?
    };
    std::fs::write(path, text)
}

fn json_to_yaml(v: &Value) -> yaml_rust2::Yaml {
    use yaml_rust2::Yaml;
    match v {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(a) => Yaml::Array(a.iter().map(json_to_yaml).collect()),
        Value::Object(o) => Yaml::Hash(
            o.iter()
                .map(|(k, v)| (Yaml::String(k.clone()), json_to_yaml(v)))
                .collect(),
        ),
    }
}
