//! PowerfulSeal 3.3's policy schema (`ps-schema.yaml`), checked strictly and turned into
//! the typed [`Policy`].
//!
//! Upstream validates with JSON Schema and reports one `jsonschema` error (often the
//! unhelpful "is not valid under any of the given schemas" of a `oneOf`). Here the same
//! rules are written out by hand so that each message names the place and the fix:
//! `scenarios[0].steps[2].podAction.matches[0]: unknown key 'namspace' (expected one of:
//! namespace, deployment, labels)`, with the line and column of the offending node from
//! the YAML parser that already serves experiments (`experiment::yaml`). What upstream's
//! schema accepts and rejects is kept (unknown keys fail almost everywhere, a step is
//! exactly one kind, a boolean is not a number), with two deliberate differences listed in
//! docs/compatibility.md: `alertManagerAction`'s fields are checked (upstream's schema
//! declares them in the wrong place and so checks nothing there), and a `property` value
//! must be a valid regular expression (upstream compiles it at run time and crashes).
//!
//! What is valid but cannot run here (a cloud driver, SSH) is accepted with a
//! [`Notice`], so the user learns it at validation time rather than mid-run.

use experiment::load::{index_path, key_path, Positions};
use experiment::{Map, Value};
use std::fmt;

use crate::policy::*;

/// Why a policy is not valid: where, and what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct PolicyError {
    /// The file (or other origin) the policy came from; empty when unknown.
    pub origin: String,
    /// The node's path: `scenarios[0].steps[1].podAction` (`""` for the whole document).
    pub path: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", place(&self.origin, self.line, self.column))?;
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// `origin:line:column: ` with whatever is known.
fn place(origin: &str, line: Option<usize>, column: Option<usize>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !origin.is_empty() {
        parts.push(origin.to_string());
    }
    if let Some(l) = line {
        parts.push(l.to_string());
        if let Some(c) = column {
            parts.push(c.to_string());
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{}: ", parts.join(":"))
    }
}

/// Something valid that Shakedown will not do (a cloud driver, SSH).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// A checked policy and what it asks that Shakedown will not do.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub policy: Policy,
    pub notices: Vec<Notice>,
    /// The document as written (the runner copies each step into its journal).
    pub document: Value,
}

/// Checks a parsed policy document (`positions` from the YAML parser, for lines).
pub fn check(document: &Value, positions: &Positions) -> Result<Checked, PolicyError> {
    let mut cx = Cx {
        positions,
        notices: Vec::new(),
    };
    let policy = cx.policy(document)?;
    Ok(Checked {
        policy,
        notices: cx.notices,
        document: document.clone(),
    })
}

const CLOUD: &str = "Shakedown has no cloud drivers (OpenStack, AWS, Azure, GCP are out of scope): `autonomous` refuses to run this policy (exit 2)";

struct Cx<'a> {
    positions: &'a Positions,
    notices: Vec<Notice>,
}

type R<T> = Result<T, PolicyError>;

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

impl Cx<'_> {
    fn err(&self, path: &str, message: impl Into<String>) -> PolicyError {
        let (line, column) = match self.positions.nearest(path) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        };
        PolicyError {
            origin: String::new(),
            path: path.to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    fn notice(&mut self, path: &str, message: impl Into<String>) {
        let line = self.positions.nearest(path).map(|(l, _)| l);
        self.notices.push(Notice {
            path: path.to_string(),
            line,
            message: message.into(),
        });
    }

    /// A mapping with only `allowed` keys and every `required` one.
    fn object<'v>(
        &self,
        v: &'v Value,
        path: &str,
        allowed: &[&str],
        required: &[&str],
    ) -> R<&'v Map> {
        let Value::Object(map) = v else {
            return Err(self.err(
                path,
                format!("expected a mapping, found {} {}", kind_of(v), short(v)),
            ));
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            let mut e = self.err(
                &key_path(path, unknown),
                format!(
                    "unknown key '{unknown}' (expected {})",
                    if allowed.is_empty() {
                        "no keys".to_string()
                    } else {
                        format!("one of: {}", allowed.join(", "))
                    }
                ),
            );
            e.path = path.to_string();
            return Err(e);
        }
        if let Some(missing) = required.iter().find(|k| !map.contains_key(**k)) {
            return Err(self.err(path, format!("missing required key '{missing}'")));
        }
        Ok(map)
    }

    /// A mapping with exactly one key, one of `kinds`: a `oneOf` of single-key objects.
    fn one_of<'v>(
        &self,
        v: &'v Value,
        path: &str,
        kinds: &[&'static str],
    ) -> R<(&'static str, &'v Value, String)> {
        let map = self.object(v, path, kinds, &[])?;
        let mut keys = map.keys();
        match (keys.next(), keys.next()) {
            (Some(k), None) => {
                let kind = kinds
                    .iter()
                    .find(|n| **n == k.as_str())
                    .copied()
                    .unwrap_or("");
                Ok((kind, &map[k], key_path(path, k)))
            }
            (None, _) => Err(self.err(
                path,
                format!(
                    "expected exactly one of: {}; found an empty mapping",
                    kinds.join(", ")
                ),
            )),
            (Some(a), Some(b)) => Err(self.err(
                path,
                format!(
                    "expected exactly one of: {}; found both '{a}' and '{b}'",
                    kinds.join(", ")
                ),
            )),
        }
    }

    fn string(&self, m: &Map, path: &str, key: &str) -> R<Option<String>> {
        match m.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.err(
                &key_path(path, key),
                format!(
                    "expected a string, found {} {}",
                    kind_of(other),
                    short(other)
                ),
            )),
        }
    }

    fn req_string(&self, m: &Map, path: &str, key: &str) -> R<String> {
        self.string(m, path, key)?
            .ok_or_else(|| self.err(path, format!("missing required key '{key}'")))
    }

    fn boolean(&self, m: &Map, path: &str, key: &str) -> R<Option<bool>> {
        match m.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.err(
                &key_path(path, key),
                format!(
                    "expected true or false, found {} {}",
                    kind_of(other),
                    short(other)
                ),
            )),
        }
    }

    /// A number (not a boolean, not a string) within `[min, max]`.
    fn number(
        &self,
        m: &Map,
        path: &str,
        key: &str,
        min: Option<f64>,
        max: Option<f64>,
    ) -> R<Option<f64>> {
        let p = key_path(path, key);
        let n = match m.get(key) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            Some(other) => {
                return Err(self.err(
                    &p,
                    format!(
                        "expected a number, found {} {}",
                        kind_of(other),
                        short(other)
                    ),
                ))
            }
        };
        if let Some(lo) = min.filter(|lo| n.is_nan() || n < *lo) {
            return Err(self.err(&p, format!("{n} is less than the minimum of {lo}")));
        }
        if let Some(hi) = max.filter(|hi| n.is_nan() || n > *hi) {
            return Err(self.err(&p, format!("{n} is greater than the maximum of {hi}")));
        }
        Ok(Some(n))
    }

    fn req_number(
        &self,
        m: &Map,
        path: &str,
        key: &str,
        min: Option<f64>,
        max: Option<f64>,
    ) -> R<f64> {
        self.number(m, path, key, min, max)?
            .ok_or_else(|| self.err(path, format!("missing required key '{key}'")))
    }

    /// A whole number (JSON Schema's `integer` or a `number` used as a count).
    fn whole(
        &self,
        m: &Map,
        path: &str,
        key: &str,
        min: Option<f64>,
        max: Option<f64>,
    ) -> R<Option<u64>> {
        match self.number(m, path, key, min, max)? {
            None => Ok(None),
            Some(n) if n.fract() == 0.0 && (0.0..1.8e19).contains(&n) => Ok(Some(n as u64)),
            Some(n) => Err(self.err(
                &key_path(path, key),
                format!("expected a whole number, found {n}"),
            )),
        }
    }

    fn list<'v>(&self, m: &'v Map, path: &str, key: &str) -> R<Vec<(&'v Value, String)>> {
        let p = key_path(path, key);
        match m.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| (v, index_path(&p, i)))
                .collect()),
            Some(other) => Err(self.err(
                &p,
                format!("expected a list, found {} {}", kind_of(other), short(other)),
            )),
        }
    }

    fn strings(&self, m: &Map, path: &str, key: &str) -> R<Vec<String>> {
        self.list(m, path, key)?
            .into_iter()
            .map(|(v, p)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(self.err(
                    &p,
                    format!(
                        "expected a string, found {} {}",
                        kind_of(other),
                        short(other)
                    ),
                )),
            })
            .collect()
    }

    fn one_word<T: Copy>(
        &self,
        m: &Map,
        path: &str,
        key: &str,
        words: &[(&str, T)],
        default: T,
    ) -> R<T> {
        match self.string(m, path, key)? {
            None => Ok(default),
            Some(s) => words
                .iter()
                .find(|(w, _)| *w == s)
                .map(|(_, t)| *t)
                .ok_or_else(|| {
                    let names: Vec<&str> = words.iter().map(|(w, _)| *w).collect();
                    self.err(
                        &key_path(path, key),
                        format!("'{s}' is not one of: {}", names.join(", ")),
                    )
                }),
        }
    }

    // ---- the document ----

    fn policy(&mut self, v: &Value) -> R<Policy> {
        if v.is_null() {
            return Err(self.err("", "the policy is empty: it needs at least 'scenarios:'"));
        }
        let m = self.object(v, "", &["config", "scenarios"], &["scenarios"])?;
        let config = match m.get("config") {
            Some(c) => self.config(c, "config")?,
            None => Config {
                run_strategy: self
                    .run_strategy(&Value::Object(Map::new()), "config.runStrategy")?,
                exit_strategy: ExitStrategy::Report,
            },
        };
        let mut scenarios = Vec::new();
        for (s, p) in self.list(m, "", "scenarios")? {
            scenarios.push(self.scenario(s, &p)?);
        }
        Ok(Policy { config, scenarios })
    }

    fn config(&mut self, v: &Value, path: &str) -> R<Config> {
        let m = self.object(v, path, &["runStrategy", "exitStrategy"], &[])?;
        let empty = Value::Object(Map::new());
        let run_strategy = self.run_strategy(
            m.get("runStrategy").unwrap_or(&empty),
            &key_path(path, "runStrategy"),
        )?;
        let exit_strategy = match m.get("exitStrategy") {
            None => ExitStrategy::Report,
            Some(e) => {
                let p = key_path(path, "exitStrategy");
                let em = self.object(e, &p, &["strategy"], &[])?;
                self.one_word(
                    em,
                    &p,
                    "strategy",
                    &[
                        ("report", ExitStrategy::Report),
                        ("fail-fast", ExitStrategy::FailFast),
                    ],
                    ExitStrategy::Report,
                )?
            }
        };
        Ok(Config {
            run_strategy,
            exit_strategy,
        })
    }

    fn run_strategy(&mut self, v: &Value, path: &str) -> R<RunStrategy> {
        let m = self.object(
            v,
            path,
            &[
                "strategy",
                "runs",
                "minSecondsBetweenRuns",
                "maxSecondsBetweenRuns",
            ],
            &[],
        )?;
        let order = self.one_word(
            m,
            path,
            "strategy",
            &[
                ("round-robin", Order::RoundRobin),
                ("random", Order::Random),
            ],
            Order::RoundRobin,
        )?;
        // Upstream counts loops with `<`, so 1.5 runs twice.
        let runs = self
            .number(m, path, "runs", Some(1.0), None)?
            .map(|n| n.ceil() as u64);
        let min = self
            .number(m, path, "minSecondsBetweenRuns", Some(0.0), None)?
            .unwrap_or(DEFAULT_MIN_SECONDS_BETWEEN_RUNS);
        let max = self
            .number(m, path, "maxSecondsBetweenRuns", Some(0.0), None)?
            .unwrap_or(DEFAULT_MAX_SECONDS_BETWEEN_RUNS);
        if min > max {
            return Err(self.err(
                &key_path(path, "minSecondsBetweenRuns"),
                format!(
                    "minSecondsBetweenRuns ({min}) is greater than maxSecondsBetweenRuns ({max})"
                ),
            ));
        }
        Ok(RunStrategy {
            order,
            runs,
            min_seconds_between_runs: min,
            max_seconds_between_runs: max,
        })
    }

    fn scenario(&mut self, v: &Value, path: &str) -> R<Scenario> {
        let m = self.object(
            v,
            path,
            &["name", "description", "steps"],
            &["name", "steps"],
        )?;
        let name = self.req_string(m, path, "name")?;
        let length = name.chars().count();
        if !(3..=80).contains(&length) {
            return Err(self.err(
                &key_path(path, "name"),
                format!("a scenario name has 3 to 80 characters; '{name}' has {length}"),
            ));
        }
        let description = self.string(m, path, "description")?;
        if !matches!(m.get("steps"), Some(Value::Array(_))) {
            return Err(self.err(&key_path(path, "steps"), "expected a list of steps"));
        }
        let mut steps = Vec::new();
        for (s, p) in self.list(m, path, "steps")? {
            steps.push(self.step(s, &p)?);
        }
        Ok(Scenario {
            name,
            description,
            steps,
        })
    }

    fn step(&mut self, v: &Value, path: &str) -> R<Step> {
        let (kind, body, p) = self.one_of(
            v,
            path,
            &[
                "podAction",
                "nodeAction",
                "kubectl",
                "probeHTTP",
                "wait",
                "clone",
                "alertManagerAction",
            ],
        )?;
        Ok(match kind {
            "podAction" => Step::PodAction(self.pod_action(body, &p)?),
            "nodeAction" => Step::NodeAction(self.node_action(body, &p)?),
            "kubectl" => Step::Kubectl(self.kubectl(body, &p)?),
            "probeHTTP" => Step::ProbeHttp(self.probe(body, &p)?),
            "wait" => Step::Wait(self.wait(body, &p)?),
            "clone" => Step::Clone(self.clone_step(body, &p)?),
            _ => Step::AlertManager(self.alert_manager(body, &p)?),
        })
    }

    fn wait(&self, v: &Value, path: &str) -> R<Wait> {
        let m = self.object(v, path, &["seconds"], &["seconds"])?;
        Ok(Wait {
            seconds: self.req_number(m, path, "seconds", Some(0.0), None)?,
        })
    }

    fn pod_action(&mut self, v: &Value, path: &str) -> R<PodAction> {
        let m = self.object(
            v,
            path,
            &["matches", "filters", "retries", "actions"],
            &["matches", "actions"],
        )?;
        let mut matches = Vec::new();
        for (item, p) in self.list(m, path, "matches")? {
            let (kind, body, bp) = self.one_of(item, &p, &["namespace", "deployment", "labels"])?;
            matches.push(match kind {
                "namespace" => match body {
                    Value::String(s) => PodMatch::Namespace(s.clone()),
                    other => {
                        return Err(self.err(
                            &bp,
                            format!(
                                "expected a string, found {} {}",
                                kind_of(other),
                                short(other)
                            ),
                        ))
                    }
                },
                "deployment" => {
                    let dm =
                        self.object(body, &bp, &["name", "namespace"], &["name", "namespace"])?;
                    PodMatch::Deployment {
                        name: self.req_string(dm, &bp, "name")?,
                        namespace: self.req_string(dm, &bp, "namespace")?,
                    }
                }
                _ => {
                    let lm = self.object(
                        body,
                        &bp,
                        &["selector", "namespace"],
                        &["selector", "namespace"],
                    )?;
                    PodMatch::Labels {
                        selector: self.req_string(lm, &bp, "selector")?,
                        namespace: self.req_string(lm, &bp, "namespace")?,
                    }
                }
            });
        }
        let filters = self.filters(m, path, false)?;
        let mut actions = Vec::new();
        for (item, p) in self.list(m, path, "actions")? {
            let (kind, body, bp) = self.one_of(
                item,
                &p,
                &["kill", "wait", "checkPodState", "checkPodCount", "stopHost"],
            )?;
            actions.push(match kind {
                "kill" => {
                    let km = self.object(body, &bp, &["probability", "force"], &[])?;
                    PodActionKind::Kill {
                        probability: self
                            .number(km, &bp, "probability", Some(0.0), Some(1.0))?
                            .unwrap_or(1.0),
                        force: self.boolean(km, &bp, "force")?.unwrap_or(true),
                    }
                }
                "wait" => PodActionKind::Wait(self.wait(body, &bp)?),
                "checkPodState" => {
                    let sm = self.object(body, &bp, &["state"], &["state"])?;
                    PodActionKind::CheckPodState {
                        state: self.req_string(sm, &bp, "state")?,
                    }
                }
                "checkPodCount" => {
                    let cm = self.object(body, &bp, &["count"], &["count"])?;
                    PodActionKind::CheckPodCount {
                        count: self.req_number(cm, &bp, "count", None, None)?,
                    }
                }
                _ => {
                    let hm = self.object(body, &bp, &["autoRestart"], &[])?;
                    self.notice(
                        &bp,
                        format!("stopHost stops the pods' nodes through a cloud driver; {CLOUD}"),
                    );
                    PodActionKind::StopHost {
                        auto_restart: self.boolean(hm, &bp, "autoRestart")?.unwrap_or(true),
                    }
                }
            });
        }
        let retries = self.retries(m, path)?;
        Ok(PodAction {
            matches,
            filters,
            actions,
            retries,
        })
    }

    fn property(&mut self, v: &Value, path: &str, node: bool) -> R<Property> {
        let m = self.object(v, path, &["name", "value", "negative"], &["name", "value"])?;
        let name = if node {
            self.one_word(
                m,
                path,
                "name",
                &[
                    ("name", PropertyName::Name),
                    ("ip", PropertyName::Ip),
                    ("group", PropertyName::Group),
                    ("az", PropertyName::Az),
                    ("state", PropertyName::State),
                ],
                PropertyName::Name,
            )?
        } else {
            self.one_word(
                m,
                path,
                "name",
                &[("name", PropertyName::Name), ("state", PropertyName::State)],
                PropertyName::Name,
            )?
        };
        let value = self.req_string(m, path, "value")?;
        if let Err(e) = fancy_regex::Regex::new(&format!("(?i){value}")) {
            return Err(self.err(
                &key_path(path, "value"),
                format!("'{value}' is not a valid regular expression: {e}"),
            ));
        }
        Ok(Property {
            name,
            value,
            negative: self.boolean(m, path, "negative")?.unwrap_or(false),
        })
    }

    fn filters(&mut self, m: &Map, path: &str, node: bool) -> R<Vec<Filter>> {
        let property_kind = "property";
        let mut filters = Vec::new();
        for (item, p) in self.list(m, path, "filters")? {
            let (kind, body, bp) = self.one_of(
                item,
                &p,
                &[property_kind, "dayTime", "randomSample", "probability"],
            )?;
            filters.push(match kind {
                "property" => Filter::Property(self.property(body, &bp, node)?),
                "dayTime" => {
                    let dm = self.object(
                        body,
                        &bp,
                        &["onlyDays", "startTime", "endTime"],
                        &["onlyDays", "startTime", "endTime"],
                    )?;
                    let mut only_days = Vec::new();
                    for (d, dp) in self.list(dm, &bp, "onlyDays")? {
                        let day = match d.as_str() {
                            Some("monday") => Weekday::Monday,
                            Some("tuesday") => Weekday::Tuesday,
                            Some("wednesday") => Weekday::Wednesday,
                            Some("thursday") => Weekday::Thursday,
                            Some("friday") => Weekday::Friday,
                            Some("saturday") => Weekday::Saturday,
                            Some("sunday") => Weekday::Sunday,
                            _ => {
                                return Err(self.err(
                                    &dp,
                                    format!(
                                        "{} is not a day: monday, tuesday, wednesday, thursday, friday, saturday or sunday",
                                        short(d)
                                    ),
                                ))
                            }
                        };
                        only_days.push(day);
                    }
                    Filter::DayTime(DayTime {
                        only_days,
                        start: self.time(dm, &bp, "startTime")?,
                        end: self.time(dm, &bp, "endTime")?,
                    })
                }
                "randomSample" => {
                    let rm = self.object(body, &bp, &["size", "ratio"], &[])?;
                    Filter::RandomSample {
                        size: self.whole(rm, &bp, "size", Some(1.0), None)?,
                        ratio: self.number(rm, &bp, "ratio", Some(0.0), Some(1.0))?,
                    }
                }
                _ => match body {
                    Value::Number(n) => {
                        let x = n.as_f64().unwrap_or(f64::NAN);
                        if !(0.0..=1.0).contains(&x) {
                            return Err(self.err(&bp, format!("a probability is between 0 and 1, not {x}")));
                        }
                        Filter::Probability(x)
                    }
                    other => {
                        return Err(self.err(
                            &bp,
                            format!("expected a number between 0 and 1, found {} {}", kind_of(other), short(other)),
                        ))
                    }
                },
            });
        }
        Ok(filters)
    }

    fn time(&self, m: &Map, path: &str, key: &str) -> R<TimeOfDay> {
        let p = key_path(path, key);
        let v = m
            .get(key)
            .ok_or_else(|| self.err(path, format!("missing required key '{key}'")))?;
        let tm = self.object(
            v,
            &p,
            &["hour", "minute", "second"],
            &["hour", "minute", "second"],
        )?;
        let part = |k: &str, max: f64| -> R<u8> {
            let n = self.whole(tm, &p, k, Some(0.0), Some(max))?.unwrap_or(0);
            Ok(u8::try_from(n).unwrap_or(0))
        };
        Ok(TimeOfDay {
            hour: part("hour", 23.0)?,
            minute: part("minute", 59.0)?,
            second: part("second", 59.0)?,
        })
    }

    fn retries(&self, m: &Map, path: &str) -> R<Option<Retries>> {
        let Some(v) = m.get("retries") else {
            return Ok(None);
        };
        let p = key_path(path, "retries");
        let (kind, body, bp) = self.one_of(v, &p, &["retriesCount", "retriesTimeout"])?;
        if kind == "retriesCount" {
            let rm = self.object(body, &bp, &["count", "sleep"], &["count"])?;
            Ok(Some(Retries::Count {
                count: self.req_number(rm, &bp, "count", Some(0.0), None)?,
                sleep: self
                    .number(rm, &bp, "sleep", Some(0.0), None)?
                    .unwrap_or(0.0),
            }))
        } else {
            let rm = self.object(body, &bp, &["timeout", "sleep"], &["timeout"])?;
            Ok(Some(Retries::Timeout {
                timeout: self.req_number(rm, &bp, "timeout", Some(0.0), None)?,
                sleep: self
                    .number(rm, &bp, "sleep", Some(0.0), None)?
                    .unwrap_or(0.0),
            }))
        }
    }

    fn node_action(&mut self, v: &Value, path: &str) -> R<NodeAction> {
        let m = self.object(
            v,
            path,
            &["matches", "retries", "filters", "actions"],
            &["matches", "actions"],
        )?;
        let mut matches = Vec::new();
        for (item, p) in self.list(m, path, "matches")? {
            let (_, body, bp) = self.one_of(item, &p, &["property"])?;
            matches.push(self.property(body, &bp, true)?);
        }
        let filters = self.filters(m, path, true)?;
        let mut actions = Vec::new();
        for (item, p) in self.list(m, path, "actions")? {
            let (kind, body, bp) = self.one_of(item, &p, &["start", "stop", "execute", "wait"])?;
            actions.push(match kind {
                "start" => {
                    if !body.is_null() {
                        self.object(body, &bp, &[], &[])?;
                    }
                    self.notice(&bp, format!("starting a node needs a cloud driver; {CLOUD}"));
                    NodeActionKind::Start
                }
                "stop" => {
                    let sm = self.object(body, &bp, &["force", "autoRestart"], &[])?;
                    self.notice(&bp, format!("stopping a node needs a cloud driver; {CLOUD}"));
                    NodeActionKind::Stop {
                        force: self.boolean(sm, &bp, "force")?.unwrap_or(false),
                        auto_restart: self.boolean(sm, &bp, "autoRestart")?.unwrap_or(true),
                    }
                }
                "execute" => {
                    let em = self.object(body, &bp, &["cmd"], &["cmd"])?;
                    self.notice(
                        &bp,
                        "execute runs a command on the node over SSH, which is out of scope (upstream's Kubernetes mode does nothing either): `autonomous` refuses to run this policy (exit 2)",
                    );
                    NodeActionKind::Execute {
                        cmd: self.req_string(em, &bp, "cmd")?,
                    }
                }
                _ => NodeActionKind::Wait(self.wait(body, &bp)?),
            });
        }
        let retries = self.retries(m, path)?;
        Ok(NodeAction {
            matches,
            filters,
            actions,
            retries,
        })
    }

    fn kubectl(&self, v: &Value, path: &str) -> R<Kubectl> {
        let m = self.object(
            v,
            path,
            &["action", "payload", "autoDelete", "proxy", "kubectlBinary"],
            &["action", "payload"],
        )?;
        Ok(Kubectl {
            action: {
                self.req_string(m, path, "action")?;
                self.one_word(
                    m,
                    path,
                    "action",
                    &[
                        ("apply", KubectlAction::Apply),
                        ("delete", KubectlAction::Delete),
                    ],
                    KubectlAction::Apply,
                )?
            },
            payload: self.req_string(m, path, "payload")?,
            auto_delete: self.boolean(m, path, "autoDelete")?.unwrap_or(true),
            proxy: self.string(m, path, "proxy")?.unwrap_or_default(),
            kubectl_binary: self.string(m, path, "kubectlBinary")?,
        })
    }

    fn service_ref(&self, v: &Value, path: &str) -> R<ServiceRef> {
        let m = self.object(v, path, &["name", "namespace"], &["name", "namespace"])?;
        Ok(ServiceRef {
            name: self.req_string(m, path, "name")?,
            namespace: self.req_string(m, path, "namespace")?,
        })
    }

    fn probe(&self, v: &Value, path: &str) -> R<ProbeHttp> {
        let m = self.object(
            v,
            path,
            &[
                "target", "retries", "delay", "timeout", "code", "count", "endpoint", "method",
                "body", "headers", "proxy", "insecure",
            ],
            &["target"],
        )?;
        let tp = key_path(path, "target");
        let (kind, body, bp) = self.one_of(&m["target"], &tp, &["url", "service"])?;
        let target = if kind == "url" {
            match body {
                Value::String(s) => ProbeTarget::Url(s.clone()),
                other => {
                    return Err(self.err(
                        &bp,
                        format!(
                            "expected a string, found {} {}",
                            kind_of(other),
                            short(other)
                        ),
                    ))
                }
            }
        } else {
            let sm = self.object(
                body,
                &bp,
                &["name", "namespace", "port", "protocol"],
                &["name", "namespace"],
            )?;
            ProbeTarget::Service {
                name: self.req_string(sm, &bp, "name")?,
                namespace: self.req_string(sm, &bp, "namespace")?,
                port: self
                    .whole(sm, &bp, "port", Some(1.0), Some(65535.0))?
                    .map_or(80, |p| u16::try_from(p).unwrap_or(80)),
                https: self.one_word(
                    sm,
                    &bp,
                    "protocol",
                    &[("http", false), ("https", true)],
                    false,
                )?,
            }
        };
        let mut headers = Vec::new();
        for (h, hp) in self.list(m, path, "headers")? {
            let hm = self.object(h, &hp, &["name", "value"], &[])?;
            headers.push((
                self.string(hm, &hp, "name")?.unwrap_or_default(),
                self.string(hm, &hp, "value")?.unwrap_or_default(),
            ));
        }
        Ok(ProbeHttp {
            target,
            retries: self
                .whole(m, path, "retries", Some(1.0), None)?
                .unwrap_or(DEFAULT_PROBE_RETRIES),
            delay_ms: self
                .number(m, path, "delay", Some(1.0), None)?
                .unwrap_or(100.0),
            timeout_ms: self
                .number(m, path, "timeout", Some(1.0), None)?
                .unwrap_or(1000.0),
            code: self
                .whole(m, path, "code", Some(1.0), Some(599.0))?
                .map_or(200, |c| u16::try_from(c).unwrap_or(200)),
            count: self.whole(m, path, "count", Some(1.0), None)?.unwrap_or(1),
            endpoint: self.string(m, path, "endpoint")?.unwrap_or_default(),
            method: self.one_word(
                m,
                path,
                "method",
                &[
                    ("get", HttpMethod::Get),
                    ("post", HttpMethod::Post),
                    ("patch", HttpMethod::Patch),
                    ("head", HttpMethod::Head),
                    ("delete", HttpMethod::Delete),
                ],
                HttpMethod::Get,
            )?,
            body: self.string(m, path, "body")?.unwrap_or_default(),
            headers,
            proxy: self.string(m, path, "proxy")?.unwrap_or_default(),
            insecure: self.boolean(m, path, "insecure")?.unwrap_or(false),
        })
    }

    fn clone_step(&self, v: &Value, path: &str) -> R<Clone> {
        let m = self.object(
            v,
            path,
            &[
                "replicas",
                "source",
                "servicesToRetarget",
                "labels",
                "mutations",
            ],
            &["source"],
        )?;
        let sp = key_path(path, "source");
        let (_, body, bp) = self.one_of(&m["source"], &sp, &["deployment"])?;
        let source = self.service_ref(body, &bp)?;
        let mut services_to_retarget = Vec::new();
        for (item, p) in self.list(m, path, "servicesToRetarget")? {
            let (_, body, bp) = self.one_of(item, &p, &["service"])?;
            services_to_retarget.push(self.service_ref(body, &bp)?);
        }
        let mut labels = Vec::new();
        for (item, p) in self.list(m, path, "labels")? {
            let (kind, body, bp) = self.one_of(item, &p, &["service", "label"])?;
            labels.push(if kind == "service" {
                CloneLabel::Service(self.service_ref(body, &bp)?)
            } else {
                let lm = self.object(body, &bp, &["key", "value"], &["key", "value"])?;
                CloneLabel::Label {
                    key: self.req_string(lm, &bp, "key")?,
                    value: self.req_string(lm, &bp, "value")?,
                }
            });
        }
        let mut mutations = Vec::new();
        for (item, p) in self.list(m, path, "mutations")? {
            let (kind, body, bp) = self.one_of(item, &p, &["environment", "tc", "toxiproxy"])?;
            mutations.push(match kind {
                "environment" => {
                    let em = self.object(body, &bp, &["name", "value"], &["name", "value"])?;
                    Mutation::Environment {
                        name: self.req_string(em, &bp, "name")?,
                        value: self.req_string(em, &bp, "value")?,
                    }
                }
                "tc" => {
                    let tm = self.object(
                        body,
                        &bp,
                        &["command", "args", "user", "image"],
                        &["command"],
                    )?;
                    Mutation::Tc {
                        command: self.strings(tm, &bp, "command")?,
                        args: self.strings(tm, &bp, "args")?,
                        user: self.whole(tm, &bp, "user", Some(0.0), None)?.unwrap_or(0),
                        image: self
                            .string(tm, &bp, "image")?
                            .unwrap_or_else(|| DEFAULT_IPROUTE2_IMAGE.to_string()),
                    }
                }
                _ => Mutation::Toxiproxy(self.toxiproxy(body, &bp)?),
            });
        }
        Ok(Clone {
            source,
            replicas: self
                .whole(m, path, "replicas", Some(1.0), None)?
                .unwrap_or(1),
            services_to_retarget,
            labels,
            mutations,
        })
    }

    fn toxiproxy(&self, v: &Value, path: &str) -> R<ToxiproxyMutation> {
        let m = self.object(
            v,
            path,
            &[
                "user",
                "imageIptables",
                "imageToxiproxy",
                "toxiproxyCli",
                "proxies",
                "toxics",
            ],
            &[],
        )?;
        let mut proxies = Vec::new();
        for (item, p) in self.list(m, path, "proxies")? {
            let pm = self.object(
                item,
                &p,
                &["name", "listen", "upstream"],
                &["name", "listen", "upstream"],
            )?;
            proxies.push(ExtraProxy {
                name: self.req_string(pm, &p, "name")?,
                listen: self.req_string(pm, &p, "listen")?,
                upstream: self.req_string(pm, &p, "upstream")?,
            });
        }
        let mut toxics = Vec::new();
        for (item, p) in self.list(m, path, "toxics")? {
            let tm = self.object(
                item,
                &p,
                &["targetProxy", "toxicType", "toxicAttributes"],
                &["targetProxy", "toxicType"],
            )?;
            let mut attributes = Vec::new();
            for (a, ap) in self.list(tm, &p, "toxicAttributes")? {
                let am = self.object(a, &ap, &["name", "value"], &["name", "value"])?;
                attributes.push((
                    self.req_string(am, &ap, "name")?,
                    self.req_number(am, &ap, "value", None, None)?,
                ));
            }
            toxics.push(Toxic {
                target_proxy: self.req_string(tm, &p, "targetProxy")?,
                toxic_type: self.req_string(tm, &p, "toxicType")?,
                attributes,
            });
        }
        Ok(ToxiproxyMutation {
            user: self.whole(m, path, "user", Some(0.0), None)?.unwrap_or(0),
            image_iptables: self
                .string(m, path, "imageIptables")?
                .unwrap_or_else(|| DEFAULT_IPROUTE2_IMAGE.to_string()),
            image_toxiproxy: self.string(m, path, "imageToxiproxy")?,
            toxiproxy_cli: self.string(m, path, "toxiproxyCli")?,
            proxies,
            toxics,
        })
    }

    fn alert_manager(&self, v: &Value, path: &str) -> R<AlertManagerAction> {
        let m = self.object(
            v,
            path,
            &["targets", "actions", "retries", "proxies"],
            &["targets", "actions"],
        )?;
        let mut targets = Vec::new();
        for (item, p) in self.list(m, path, "targets")? {
            let (_, body, bp) = self.one_of(item, &p, &["url"])?;
            match body {
                Value::String(s) => targets.push(s.clone()),
                other => {
                    return Err(self.err(
                        &bp,
                        format!(
                            "expected a string, found {} {}",
                            kind_of(other),
                            short(other)
                        ),
                    ))
                }
            }
        }
        let mut actions = Vec::new();
        for (item, p) in self.list(m, path, "actions")? {
            let (_, body, bp) = self.one_of(item, &p, &["mute"])?;
            let mm = self.object(body, &bp, &["duration", "autoUnmute"], &[])?;
            actions.push(Mute {
                duration_seconds: self
                    .whole(mm, &bp, "duration", Some(60.0), Some(86400.0))?
                    .unwrap_or(DEFAULT_SILENCE_SECONDS),
                auto_unmute: self.boolean(mm, &bp, "autoUnmute")?.unwrap_or(true),
            });
        }
        let (proxy_http, proxy_https) = match m.get("proxies") {
            None => (String::new(), String::new()),
            Some(pv) => {
                let pp = key_path(path, "proxies");
                let pm = self.object(pv, &pp, &["http", "https"], &[])?;
                (
                    self.string(pm, &pp, "http")?.unwrap_or_default(),
                    self.string(pm, &pp, "https")?.unwrap_or_default(),
                )
            }
        };
        Ok(AlertManagerAction {
            targets,
            actions,
            proxy_http,
            proxy_https,
            retries: self.retries(m, path)?,
        })
    }
}

#[cfg(test)]
mod tests;
