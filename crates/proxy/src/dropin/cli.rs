//! `toxiproxy-cli` 2.12 as a drop-in: what `chaos` does when started through a link named
//! `toxiproxy-cli`.
//!
//! Why a second front end next to `chaos proxy …`: scripts, Makefiles and PowerfulSeal's
//! clone sidecar call `toxiproxy-cli` with urfave/cli's argument syntax (Go flags, so
//! `--a latency=250` is `-a latency=250`; flags only before the proxy name; `-h` is the
//! host) and read its output. `chaos proxy` keeps clap's conventions (`-h` is help), so
//! the two cannot share a parser. This module reproduces the real binary byte for byte
//! where a script could notice: every command, alias and flag, the help screens (urfave's
//! renderings, kept verbatim in `help/`), the "Incorrect Usage" answers (exit 0, as
//! urfave's), the messages of failures (exit 1) and of unknown commands (exit 3), the
//! plain-text tables when stdout is not a terminal and the coloured ones when it is, and
//! the HTTP calls the Go client makes, so the API errors it quotes are the same.
//! `crates/cli/tests/toxiproxy_dropin.rs` runs it beside the real one and compares.

use std::collections::BTreeMap;
use std::time::Duration;

use hyper::Method;
use serde_json::{Map, Value};

use super::goflag::{self, Flag, FlagError, Kind, Parsed};
use crate::client::{seg, Client, TransportError, DEFAULT_URL};
use crate::model::float32_value;

/// The version the drop-in reports (`--version` and its help), Toxiproxy's.
pub const VERSION: &str = "2.12.0";

/// What one invocation printed and its exit status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

impl Output {
    fn out(text: impl Into<String>) -> Output {
        Output {
            stdout: text.into(),
            ..Output::default()
        }
    }
    /// urfave's `cli.Exit(msg, code)`: the message and a newline on stderr.
    fn exit(stdout: impl Into<String>, message: &str, code: u8) -> Output {
        Output {
            stdout: stdout.into(),
            stderr: format!("{message}\n"),
            code,
        }
    }
}

const APP_HELP: &str = include_str!("help/app.txt");
const TOXIC_HELP: &str = include_str!("help/toxic.txt");
/// The help command urfave lists under a command when its action shows the help.
const HELP_COMMAND_LINE: &str =
    "COMMANDS:\n   help, h  Shows a list of commands or help for one command\n\n";
/// Go's HTTP client gives up after 30 s.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const HELP_FLAG: Flag = Flag {
    names: &["help"],
    kind: Kind::Bool,
};
const GLOBAL_FLAGS: &[Flag] = &[
    Flag {
        names: &["host", "h"],
        kind: Kind::Str,
    },
    HELP_FLAG,
    Flag {
        names: &["version", "v"],
        kind: Kind::Bool,
    },
];
const NAME: Flag = Flag {
    names: &["toxicName", "n"],
    kind: Kind::Str,
};
const TOXICITY: Flag = Flag {
    names: &["toxicity", "tox"],
    kind: Kind::Str,
};
const ATTRIBUTE: Flag = Flag {
    names: &["attribute", "a"],
    kind: Kind::Slice,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    List,
    Inspect,
    Create,
    Toggle,
    Delete,
    ToxicAdd,
    ToxicUpdate,
    ToxicRemove,
}

struct Command {
    names: &'static [&'static str],
    flags: &'static [Flag],
    help: &'static str,
    action: Action,
}

const COMMANDS: &[Command] = &[
    Command {
        names: &["list", "l", "li", "ls"],
        flags: &[HELP_FLAG],
        help: include_str!("help/list.txt"),
        action: Action::List,
    },
    Command {
        names: &["inspect", "i", "ins"],
        flags: &[HELP_FLAG],
        help: include_str!("help/inspect.txt"),
        action: Action::Inspect,
    },
    Command {
        names: &["create", "c", "new"],
        flags: &[
            Flag {
                names: &["listen", "l"],
                kind: Kind::Str,
            },
            Flag {
                names: &["upstream", "u"],
                kind: Kind::Str,
            },
            HELP_FLAG,
        ],
        help: include_str!("help/create.txt"),
        action: Action::Create,
    },
    Command {
        names: &["toggle", "tog"],
        flags: &[HELP_FLAG],
        help: include_str!("help/toggle.txt"),
        action: Action::Toggle,
    },
    Command {
        names: &["delete", "d"],
        flags: &[HELP_FLAG],
        help: include_str!("help/delete.txt"),
        action: Action::Delete,
    },
];

const TOXIC_NAMES: &[&str] = &["toxic", "t"];

const TOXIC_COMMANDS: &[Command] = &[
    Command {
        names: &["add", "a"],
        flags: &[
            NAME,
            Flag {
                names: &["type", "t"],
                kind: Kind::Str,
            },
            TOXICITY,
            ATTRIBUTE,
            Flag {
                names: &["upstream", "u"],
                kind: Kind::Bool,
            },
            Flag {
                names: &["downstream", "d"],
                kind: Kind::Bool,
            },
            HELP_FLAG,
        ],
        help: include_str!("help/toxic_add.txt"),
        action: Action::ToxicAdd,
    },
    Command {
        names: &["update", "u"],
        flags: &[NAME, TOXICITY, ATTRIBUTE, HELP_FLAG],
        help: include_str!("help/toxic_update.txt"),
        action: Action::ToxicUpdate,
    },
    Command {
        names: &["remove", "r", "delete", "d"],
        flags: &[NAME, HELP_FLAG],
        help: include_str!("help/toxic_remove.txt"),
        action: Action::ToxicRemove,
    },
];

fn app_help() -> String {
    APP_HELP.replace("{version}", VERSION)
}

/// `help toxic` stops before the toxic command's own command and option lists.
fn toxic_topic_help() -> &'static str {
    TOXIC_HELP
        .find("COMMANDS:\n")
        .map_or(TOXIC_HELP, |at| &TOXIC_HELP[..at])
}

/// A command's help as its action shows it (urfave has added the help command by then).
fn help_with_commands(help: &str) -> String {
    match help.find("OPTIONS:\n") {
        Some(at) => format!("{}{HELP_COMMAND_LINE}{}", &help[..at], &help[at..]),
        None => help.to_string(),
    }
}

fn incorrect_usage(e: &FlagError, help: &str) -> Output {
    Output::out(format!("Incorrect Usage: {e}\n\n{help}"))
}

fn no_help_topic(topic: &str) -> Output {
    Output::exit("", &format!("No help topic for '{topic}'"), 3)
}

fn find<'a>(commands: &'a [Command], name: &str) -> Option<&'a Command> {
    commands.iter().find(|c| c.names.contains(&name))
}

/// Runs one invocation. `args` excludes the program name; `env_url` is `$TOXIPROXY_URL`;
/// `tty` says whether stdout is a terminal (colours, headers and hints).
pub async fn run(args: &[String], env_url: Option<String>, tty: bool) -> Output {
    let global = match goflag::parse(GLOBAL_FLAGS, args) {
        Ok(p) => p,
        Err(e) => return incorrect_usage(&e, &app_help()),
    };
    if global.bool("help") {
        return help_topic(&global.args);
    }
    if global.bool("version") {
        return Output::out(format!("toxiproxy-cli version {VERSION}\n"));
    }
    let host = if global.is_set("host") {
        global.string("host")
    } else {
        env_url.unwrap_or_else(|| DEFAULT_URL.to_string())
    };
    let Some((name, rest)) = global.args.split_first() else {
        return Output::out(app_help());
    };
    if name == "help" || name == "h" {
        return help_topic(rest);
    }
    if TOXIC_NAMES.contains(&name.as_str()) {
        return toxic(rest, &host, tty).await;
    }
    match find(COMMANDS, name) {
        Some(c) => leaf(c, rest, &host, tty).await,
        None => no_help_topic(name),
    }
}

/// `help [topic]` at the top level.
fn help_topic(args: &[String]) -> Output {
    let Some(topic) = args.first() else {
        return Output::out(app_help());
    };
    if TOXIC_NAMES.contains(&topic.as_str()) {
        return Output::out(toxic_topic_help());
    }
    match find(COMMANDS, topic) {
        Some(c) => Output::out(c.help),
        None => no_help_topic(topic),
    }
}

async fn toxic(args: &[String], host: &str, tty: bool) -> Output {
    let parsed = match goflag::parse(&[HELP_FLAG], args) {
        Ok(p) => p,
        Err(e) => return incorrect_usage(&e, TOXIC_HELP),
    };
    let topic = if parsed.bool("help") {
        parsed.args.first()
    } else {
        match parsed.args.split_first() {
            None => return Output::out(TOXIC_HELP),
            Some((first, rest)) if first == "help" || first == "h" => rest.first(),
            Some((first, rest)) => {
                return match find(TOXIC_COMMANDS, first) {
                    Some(c) => leaf(c, rest, host, tty).await,
                    None => no_help_topic(first),
                }
            }
        }
    };
    match topic {
        None => Output::out(TOXIC_HELP),
        Some(t) => match find(TOXIC_COMMANDS, t) {
            Some(c) => Output::out(c.help),
            None => no_help_topic(t),
        },
    }
}

async fn leaf(c: &Command, args: &[String], host: &str, tty: bool) -> Output {
    let parsed = match goflag::parse(c.flags, args) {
        Ok(p) => p,
        Err(e) => return incorrect_usage(&e, &help_with_commands(c.help)),
    };
    if parsed.bool("help") {
        // `--help NAME` asks for the help of NAME, which a leaf command does not have:
        // urfave prints nothing.
        return if parsed.args.is_empty() {
            Output::out(c.help)
        } else {
            Output::default()
        };
    }
    if parsed.args.first().is_some_and(|a| a == "help" || a == "h") {
        return Output::out(c.help);
    }
    let ui = Ui { tty };
    let api = Api::new(host);
    let result = match c.action {
        Action::List => list(&api, ui).await,
        Action::Inspect => inspect(&api, ui, &parsed).await,
        Action::Create => create(&api, &parsed).await,
        Action::Toggle => toggle(&api, ui, &parsed).await,
        Action::Delete => delete(&api, &parsed).await,
        Action::ToxicAdd => toxic_add(&api, &parsed).await,
        Action::ToxicUpdate => toxic_update(&api, &parsed).await,
        Action::ToxicRemove => toxic_remove(&api, &parsed).await,
    };
    match result {
        Ok(text) => Output::out(text),
        Err(Failure { message, help }) => {
            let stdout = if help {
                help_with_commands(c.help)
            } else {
                String::new()
            };
            Output::exit(stdout, &message, 1)
        }
    }
}

/// A failed action: its message and whether toxiproxy-cli showed the command's help first.
struct Failure {
    message: String,
    help: bool,
}

fn failure(message: String) -> Failure {
    Failure {
        message,
        help: false,
    }
}

fn usage_failure(message: &str) -> Failure {
    Failure {
        message: message.to_string(),
        help: true,
    }
}

/// The API as the Go client reaches it: its errors worded as the Go client words them.
struct Api {
    endpoint: String,
}

impl Api {
    fn new(host: &str) -> Api {
        let endpoint = if host.starts_with("http://") || host.starts_with("https://") {
            host.to_string()
        } else {
            format!("http://{host}")
        };
        Api { endpoint }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.endpoint);
        let request_failed = |detail: String| {
            format!(
                "fail to request: {} \"{url}\": {detail}",
                go_method(&method)
            )
        };
        let host = self.endpoint.split_once("://").map_or("", |(_, rest)| rest);
        if host.is_empty() || host.starts_with('/') {
            return Err(request_failed("http: no Host in request URL".into()));
        }
        let client = Client::new(&self.endpoint).map_err(|e| e.to_string())?;
        let exchange = client.exchange(method.clone(), path, body);
        let (status, bytes) =
            match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
                Err(_) => return Err(request_failed(
                    "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                        .into(),
                )),
                Ok(Err(e)) => return Err(request_failed(go_transport_error(&e))),
                Ok(Ok(answer)) => answer,
            };
        if !(200..300).contains(&status) {
            let v: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            let message = v.get("error").and_then(Value::as_str).unwrap_or_default();
            let status = v.get("status").and_then(Value::as_u64).unwrap_or(0);
            return Err(format!("HTTP {status}: {message}"));
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }

    async fn proxy(&self, name: &str) -> Result<Value, String> {
        self.send(Method::GET, &format!("/proxies/{}", seg(name)), None)
            .await
    }
}

/// Go's `url.Error` operation: the method with only its first letter upper case.
fn go_method(m: &Method) -> String {
    let s = m.as_str().to_ascii_lowercase();
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => s,
    }
}

/// An OS error as Go prints it: `connection refused`, not `Connection refused (os error 111)`.
fn go_errno(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().to_string() + chars.as_str(),
        None => text,
    }
}

fn go_transport_error(e: &TransportError) -> String {
    match e {
        TransportError::Connect { addr, source } => {
            format!("dial tcp {addr}: connect: {}", go_errno(source))
        }
        TransportError::Resolve { host, .. } => {
            let name = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
            format!("dial tcp: lookup {name}: no such host")
        }
        TransportError::Http(detail) => detail.clone(),
    }
}

fn text_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A value as Go's `fmt.Print` shows what `encoding/json` decoded into `interface{}`.
pub fn go_print(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => go_float(n.as_f64().unwrap_or(0.0)),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_print).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(m) => {
            let mut pairs: Vec<(&String, &Value)> = m.iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            let items: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_print(v)))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

/// A float64 as Go's `%v`: shortest digits, exponent form below 1e-4 or from 1e21 on.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..21).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// Terminal colours, only when stdout is a terminal (toxiproxy-cli's `color`).
#[derive(Clone, Copy)]
struct Ui {
    tty: bool,
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
const PURPLE: &str = "\x1b[35m";
const NONE: &str = "\x1b[0m";

impl Ui {
    fn color(self, c: &'static str) -> &'static str {
        if self.tty {
            c
        } else {
            ""
        }
    }
    fn enabled_color(self, enabled: bool) -> &'static str {
        self.color(if enabled { GREEN } else { RED })
    }
    fn hint(self, out: &mut String, m: &str) {
        if self.tty {
            out.push_str(&format!("\n{}Hint: {m}\n", self.color(NONE)));
        }
    }
    /// `printWidth`: a cell followed by enough tabs to line up on a terminal.
    fn cell(self, out: &mut String, col: &'static str, m: &str, tabs: usize) {
        let tabs = if self.tty {
            tabs.saturating_sub(m.len() / 8 + 1)
        } else {
            0
        };
        out.push_str(&format!(
            "{}{m}{}\t{}",
            self.color(col),
            self.color(NONE),
            "\t".repeat(tabs)
        ));
    }
}

fn enabled_text(enabled: bool) -> &'static str {
    if enabled {
        "enabled"
    } else {
        "disabled"
    }
}

fn toxics_of(p: &Value) -> Vec<Value> {
    p.get("toxics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

async fn list(api: &Api, ui: Ui) -> Result<String, Failure> {
    let v = api
        .send(Method::GET, "/proxies", None)
        .await
        .map_err(|e| failure(format!("Failed to retrieve proxies: {e}")))?;
    let proxies: BTreeMap<String, Value> = match v {
        Value::Object(m) => m.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    let mut out = String::new();
    if ui.tty {
        out.push_str(&format!(
            "{}Name\t\t\t{}Listen\t\t{}Upstream\t\t{}Enabled\t\t{}Toxics\n{}",
            ui.color(GREEN),
            ui.color(BLUE),
            ui.color(YELLOW),
            ui.color(PURPLE),
            ui.color(RED),
            ui.color(NONE)
        ));
        out.push_str(&format!("{}{}\n", ui.color(NONE), "=".repeat(86)));
        if proxies.is_empty() {
            out.push_str(&format!("{}no proxies\n{}", ui.color(RED), ui.color(NONE)));
            ui.hint(&mut out, "create a proxy with `toxiproxy-cli create`");
            return Ok(out);
        }
    }
    for p in proxies.values() {
        let enabled = p.get("enabled").and_then(Value::as_bool).unwrap_or(false);
        let count = toxics_of(p).len();
        let count = if count == 0 && ui.tty {
            "None".to_string()
        } else {
            count.to_string()
        };
        ui.cell(
            &mut out,
            ui.enabled_color(enabled),
            text_field(p, "name"),
            3,
        );
        ui.cell(&mut out, BLUE, text_field(p, "listen"), 2);
        ui.cell(&mut out, YELLOW, text_field(p, "upstream"), 3);
        ui.cell(&mut out, PURPLE, enabled_text(enabled), 2);
        out.push_str(&format!("{}{count}{}\n", ui.color(RED), ui.color(NONE)));
    }
    ui.hint(
        &mut out,
        "inspect toxics with `toxiproxy-cli inspect <proxyName>`",
    );
    Ok(out)
}

fn list_toxics(out: &mut String, ui: Ui, toxics: &[&Value], stream: &str) {
    if ui.tty {
        out.push_str(&format!(
            "{}{stream} toxics:\n{}",
            ui.color(GREEN),
            ui.color(NONE)
        ));
        if toxics.is_empty() {
            out.push_str(&format!(
                "{}Proxy has no {stream} toxics enabled.\n{}",
                ui.color(RED),
                ui.color(NONE)
            ));
            return;
        }
    }
    for t in toxics {
        if ui.tty {
            out.push_str(&format!(
                "{}{}:{}\t",
                ui.color(BLUE),
                text_field(t, "name"),
                ui.color(NONE)
            ));
        } else {
            out.push_str(&format!("{}\t", text_field(t, "name")));
        }
        let toxicity = t.get("toxicity").and_then(Value::as_f64).unwrap_or(0.0) as f32;
        out.push_str(&format!(
            "type={}\tstream={}\ttoxicity={toxicity:.2}\tattributes=[",
            text_field(t, "type"),
            text_field(t, "stream")
        ));
        let mut attrs: Vec<(&String, &Value)> = t
            .get("attributes")
            .and_then(Value::as_object)
            .map(|m| m.iter().collect())
            .unwrap_or_default();
        attrs.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in attrs {
            out.push_str(&format!("\t{k}={}", go_print(v)));
        }
        out.push_str("\t]\n");
    }
}

fn proxy_name(parsed: &Parsed, missing: &str) -> Result<String, Failure> {
    match parsed.args.first() {
        Some(name) if !name.is_empty() => Ok(name.clone()),
        _ => Err(usage_failure(missing)),
    }
}

const NAME_REQUIRED: &str = "Proxy name is required as the first argument.\n";

async fn inspect(api: &Api, ui: Ui, parsed: &Parsed) -> Result<String, Failure> {
    let name = proxy_name(parsed, NAME_REQUIRED)?;
    let p = api
        .proxy(&name)
        .await
        .map_err(|e| failure(format!("Failed to retrieve proxy {name}: {e}\n")))?;
    let toxics = toxics_of(&p);
    let mut out = String::new();
    if ui.tty {
        out.push_str(&format!(
            "{}Name: {}{}\t",
            ui.color(PURPLE),
            ui.color(NONE),
            text_field(&p, "name")
        ));
        out.push_str(&format!(
            "{}Listen: {}{}\t",
            ui.color(BLUE),
            ui.color(NONE),
            text_field(&p, "listen")
        ));
        out.push_str(&format!(
            "{}Upstream: {}{}\n",
            ui.color(YELLOW),
            ui.color(NONE),
            text_field(&p, "upstream")
        ));
        out.push_str(&format!("{}{}\n", ui.color(NONE), "=".repeat(70)));
        if toxics.is_empty() {
            out.push_str(&format!(
                "{}Proxy has no toxics enabled.\n{}",
                ui.color(RED),
                ui.color(NONE)
            ));
        } else {
            let (up, down): (Vec<&Value>, Vec<&Value>) = toxics
                .iter()
                .partition(|t| text_field(t, "stream") == "upstream");
            list_toxics(&mut out, ui, &up, "Upstream");
            out.push('\n');
            list_toxics(&mut out, ui, &down, "Downstream");
        }
        ui.hint(&mut out, "add a toxic with `toxiproxy-cli toxic add`");
    } else {
        list_toxics(&mut out, ui, &toxics.iter().collect::<Vec<_>>(), "");
    }
    Ok(out)
}

/// `getArgOrFail`: a string flag that must not be empty.
fn required(parsed: &Parsed, flag: &str) -> Result<String, Failure> {
    let v = parsed.string(flag);
    if v.is_empty() {
        return Err(usage_failure(&format!(
            "Required argument '{flag}' was empty.\n"
        )));
    }
    Ok(v)
}

async fn create(api: &Api, parsed: &Parsed) -> Result<String, Failure> {
    let name = proxy_name(parsed, NAME_REQUIRED)?;
    let listen = required(parsed, "listen")?;
    let upstream = required(parsed, "upstream")?;
    let body = serde_json::json!({
        "name": name, "listen": listen, "upstream": upstream, "enabled": true
    });
    api.send(Method::POST, "/proxies", Some(&body))
        .await
        .map_err(|e| failure(format!("Failed to create proxy: Create: {e}\n")))?;
    Ok(format!("Created new proxy {name}\n"))
}

async fn toggle(api: &Api, ui: Ui, parsed: &Parsed) -> Result<String, Failure> {
    let name = proxy_name(parsed, NAME_REQUIRED)?;
    let p = api
        .proxy(&name)
        .await
        .map_err(|e| failure(format!("Failed to retrieve proxy {name}: {e}\n")))?;
    let enabled = p.get("enabled").and_then(Value::as_bool).unwrap_or(false);
    // The Go client saves the whole proxy with POST.
    let body = serde_json::json!({
        "name": text_field(&p, "name"),
        "listen": text_field(&p, "listen"),
        "upstream": text_field(&p, "upstream"),
        "enabled": !enabled,
    });
    let saved = api
        .send(
            Method::POST,
            &format!("/proxies/{}", seg(&name)),
            Some(&body),
        )
        .await
        .map_err(|e| failure(format!("Failed to toggle proxy {name}: {e}\n")))?;
    let enabled = saved
        .get("enabled")
        .and_then(Value::as_bool)
        .unwrap_or(!enabled);
    let c = ui.enabled_color(enabled);
    Ok(format!(
        "Proxy {c}{name}{none} is now {c}{}{none}\n",
        enabled_text(enabled),
        none = ui.color(NONE)
    ))
}

async fn delete(api: &Api, parsed: &Parsed) -> Result<String, Failure> {
    let name = proxy_name(parsed, NAME_REQUIRED)?;
    api.proxy(&name)
        .await
        .map_err(|e| failure(format!("Failed to retrieve proxy {name}: {e}\n")))?;
    api.send(Method::DELETE, &format!("/proxies/{}", seg(&name)), None)
        .await
        .map_err(|e| failure(format!("Failed to delete proxy: Delete: {e}\n")))?;
    Ok(format!("Deleted proxy {name}\n"))
}

const PROXY_MISSING: &str = "Proxy name is missing.\n";

/// `--toxicity`: a float32 in [0, 1], 1.0 when absent (also for `update`, as the real one).
fn toxicity(parsed: &Parsed) -> Result<f32, Failure> {
    let text = parsed.string("toxicity");
    if text.is_empty() {
        return Ok(1.0);
    }
    match text.parse::<f32>() {
        Ok(t) if (0.0..=1.0).contains(&t) => Ok(t),
        _ => Err(failure(
            "toxicity should be a float between 0 and 1.\n".into(),
        )),
    }
}

/// `key=value` items; numbers where Go's `ParseFloat` reads one, strings otherwise;
/// items without `=` are dropped. A non-finite number cannot be sent (Go's JSON encoder
/// refuses it): its text comes back as the error.
fn attributes(parsed: &Parsed) -> Result<Map<String, Value>, String> {
    let mut m = Map::new();
    for raw in parsed.slice("attribute") {
        let Some((k, v)) = raw.split_once('=') else {
            continue;
        };
        let value = match v.parse::<f64>() {
            Ok(f) if f.is_finite() => crate::toxics::num_f64(f),
            Ok(f) => return Err(format!("json: unsupported value: {}", go_float(f))),
            Err(_) => Value::String(v.to_string()),
        };
        m.insert(k.to_string(), value);
    }
    Ok(m)
}

async fn toxic_add(api: &Api, parsed: &Parsed) -> Result<String, Failure> {
    let proxy = proxy_name(parsed, PROXY_MISSING)?;
    let toxic_name = parsed.string("toxicName");
    let kind = required(parsed, "type")?;
    let (up, down) = (parsed.bool("upstream"), parsed.bool("downstream"));
    if up && down {
        return Err(failure(
            "Only one should be specified: upstream or downstream.\n".into(),
        ));
    }
    let stream = if up { "upstream" } else { "downstream" };
    let toxicity = toxicity(parsed)?;
    let fail = |e: String| failure(format!("Failed to add toxic: {e}\n"));
    let attrs = attributes(parsed);
    api.proxy(&proxy)
        .await
        .map_err(|e| fail(format!("failed to retrieve proxy with name `{proxy}`: {e}")))?;
    let attrs = attrs.map_err(|e| fail(format!("failed to add toxic to proxy {proxy}: {e}")))?;
    let body = serde_json::json!({
        "name": toxic_name, "type": kind, "stream": stream,
        "toxicity": float32_value(toxicity), "attributes": attrs,
    });
    let added = api
        .send(
            Method::POST,
            &format!("/proxies/{}/toxics", seg(&proxy)),
            Some(&body),
        )
        .await
        .map_err(|e| {
            fail(format!(
                "failed to add toxic to proxy {proxy}: AddToxic: {e}"
            ))
        })?;
    Ok(format!(
        "Added {} {} toxic '{}' on proxy '{proxy}'\n",
        text_field(&added, "stream"),
        text_field(&added, "type"),
        text_field(&added, "name")
    ))
}

async fn toxic_update(api: &Api, parsed: &Parsed) -> Result<String, Failure> {
    let proxy = proxy_name(parsed, PROXY_MISSING)?;
    let toxic_name = parsed.string("toxicName");
    let toxicity = toxicity(parsed)?;
    let fail = |e: String| failure(format!("Failed to update toxic: {e}\n"));
    let attrs = attributes(parsed);
    api.proxy(&proxy)
        .await
        .map_err(|e| fail(format!("failed to retrieve proxy with name `{proxy}`: {e}")))?;
    let context = format!("failed to update toxic '{toxic_name}' of proxy '{proxy}'");
    let attrs = attrs.map_err(|e| fail(format!("{context}: {e}")))?;
    let body = serde_json::json!({
        "attributes": attrs, "toxicity": float32_value(toxicity),
    });
    let updated = api
        .send(
            Method::PATCH,
            &format!("/proxies/{}/toxics/{}", seg(&proxy), seg(&toxic_name)),
            Some(&body),
        )
        .await
        .map_err(|e| fail(format!("{context}: {e}")))?;
    Ok(format!(
        "Updated toxic '{}' on proxy '{proxy}'\n",
        text_field(&updated, "name")
    ))
}

async fn toxic_remove(api: &Api, parsed: &Parsed) -> Result<String, Failure> {
    let proxy = proxy_name(parsed, PROXY_MISSING)?;
    let toxic_name = parsed.string("toxicName");
    let fail = |e: String| failure(format!("Failed to remove toxic: {e}\n"));
    api.proxy(&proxy)
        .await
        .map_err(|e| fail(format!("failed to retrieve proxy with name `{proxy}`: {e}")))?;
    api.send(
        Method::DELETE,
        &format!("/proxies/{}/toxics/{}", seg(&proxy), seg(&toxic_name)),
        None,
    )
    .await
    .map_err(|e| {
        fail(format!(
            "failed to remove toxic '{toxic_name}' from proxy '{proxy}': {e}"
        ))
    })?;
    Ok(format!("Removed toxic '{toxic_name}' on proxy '{proxy}'\n"))
}

/// The whole program: reads `$TOXIPROXY_URL`, checks whether stdout is a terminal, runs,
/// prints, and returns the exit status.
pub fn main(args: &[String]) -> u8 {
    use std::io::Write;
    let env_url = std::env::var("TOXIPROXY_URL").ok();
    // SAFETY: isatty only inspects the descriptor.
    let tty = unsafe { libc::isatty(libc::STDOUT_FILENO) } == 1;
    let output = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run(args, env_url, tty)),
        Err(e) => Output::exit("", &format!("cannot start the async runtime: {e}"), 1),
    };
    let _ = std::io::stdout().write_all(output.stdout.as_bytes());
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(output.stderr.as_bytes());
    output.code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formats_numbers_like_fmt_print() {
        assert_eq!(go_float(250.0), "250");
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(1e20), "100000000000000000000");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(-2.5e-7), "-2.5e-07");
        assert_eq!(
            go_print(&serde_json::json!({"b": [1, "x"], "a": null})),
            "map[a:<nil> b:[1 x]]"
        );
    }

    #[test]
    fn action_help_lists_the_help_command_before_the_options() {
        let h = help_with_commands(COMMANDS[0].help);
        assert!(h.contains("COMMANDS:\n   help, h  Shows"), "{h}");
        assert!(h.find("COMMANDS:") < h.find("OPTIONS:"));
        assert!(toxic_topic_help().ends_with("myProxy\n\n\n"));
    }

    #[tokio::test]
    async fn terminal_output_has_colours_headers_and_hints() {
        let server = crate::start(crate::ServeConfig {
            port: 0,
            ..crate::ServeConfig::default()
        })
        .await
        .expect("server");
        let url = server.url();
        let run = |a: &[&str], tty| {
            let args: Vec<String> = a.iter().map(|s| s.to_string()).collect();
            let url = url.clone();
            async move { run(&args, Some(url), tty).await }
        };
        let empty = run(&["list"], true).await;
        assert!(empty.stdout.contains("no proxies"), "{empty:?}");
        assert!(empty.stdout.contains("Hint: create a proxy"), "{empty:?}");
        let created = run(
            &["create", "-l", "127.0.0.1:0", "-u", "127.0.0.1:9", "db"],
            true,
        )
        .await;
        assert_eq!(created.stdout, "Created new proxy db\n");
        let listed = run(&["list"], true).await;
        assert!(
            listed.stdout.contains("\x1b[32mdb\x1b[0m\t\t\t"),
            "{:?}",
            listed.stdout
        );
        assert!(
            listed.stdout.contains("\x1b[31mNone\x1b[0m\n"),
            "{listed:?}"
        );
        run(
            &["toxic", "add", "-t", "latency", "--a", "latency=250", "db"],
            true,
        )
        .await;
        let inspected = run(&["inspect", "db"], true).await;
        assert!(
            inspected.stdout.contains("Upstream toxics:\n"),
            "{inspected:?}"
        );
        assert!(
            inspected
                .stdout
                .contains("\x1b[34mlatency_downstream:\x1b[0m\ttype=latency"),
            "{inspected:?}"
        );
        let toggled = run(&["toggle", "db"], true).await;
        assert_eq!(
            toggled.stdout,
            "Proxy \x1b[31mdb\x1b[0m is now \x1b[31mdisabled\x1b[0m\n"
        );
        server.shutdown().await.expect("shutdown");
    }
}
