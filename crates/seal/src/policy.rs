//! The typed PowerfulSeal 3.3 policy: what a validated policy file means, every default
//! filled in.
//!
//! Why typed: upstream passes the raw dictionaries to its actions and reads each key with
//! its own default at the point of use, which is how its code and its schema came to
//! disagree (`minSecondsBetweenRuns` 0 vs 30, `probeHTTP.retries` 1 vs 3, the
//! `probability` filter read as an object). Here [`crate::schema`] turns the document into
//! these types once; a runner reads fields, never keys, and each default is written in
//! one place (the `DEFAULT_*` constants and the `schema` functions that use them), taken
//! from upstream's code where it and the schema differ (docs/compatibility.md).

/// `config.runStrategy.minSecondsBetweenRuns` when absent: upstream's code (its schema
/// says 30).
pub const DEFAULT_MIN_SECONDS_BETWEEN_RUNS: f64 = 0.0;
/// `config.runStrategy.maxSecondsBetweenRuns` when absent (code and schema agree).
pub const DEFAULT_MAX_SECONDS_BETWEEN_RUNS: f64 = 300.0;
/// `probeHTTP.retries` when absent: upstream's code (its schema says 3).
pub const DEFAULT_PROBE_RETRIES: u64 = 1;
/// `alertManagerAction.actions[].mute.duration` when absent: upstream's code (its schema
/// says 60).
pub const DEFAULT_SILENCE_SECONDS: u64 = 900;
/// `tc.image` and `toxiproxy.imageIptables` when absent.
pub const DEFAULT_IPROUTE2_IMAGE: &str = "gaiadocker/iproute2:latest";
/// `toxiproxy.imageToxiproxy` when absent. Upstream's is `docker.io/shopify/toxiproxy:2.1.4`;
/// the runner substitutes Shakedown's own image (`chaos proxy serve`) when the policy does
/// not name one.
pub const UPSTREAM_TOXIPROXY_IMAGE: &str = "docker.io/shopify/toxiproxy:2.1.4";
/// `toxiproxy.toxiproxyCli` when absent and the policy names its own `imageToxiproxy`
/// (upstream's default, the path in `shopify/toxiproxy`).
pub const DEFAULT_TOXIPROXY_CLI: &str = "/go/bin/toxiproxy-cli";
/// `toxiproxy.toxiproxyCli` when absent and the sidecar is Shakedown's image: the
/// `toxiproxy-cli` link to `chaos` (docs/release.md).
pub const SHAKEDOWN_TOXIPROXY_CLI: &str = "/usr/local/bin/toxiproxy-cli";

/// A whole policy file.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub config: Config,
    pub scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub run_strategy: RunStrategy,
    pub exit_strategy: ExitStrategy,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunStrategy {
    pub order: Order,
    /// Loops to run; `None`: forever.
    pub runs: Option<u64>,
    pub min_seconds_between_runs: f64,
    pub max_seconds_between_runs: f64,
}

/// `runStrategy.strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// `round-robin` (default): every scenario, in file order.
    RoundRobin,
    /// `random`: every scenario, shuffled (upstream's behaviour, not one pick).
    Random,
}

/// `exitStrategy.strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStrategy {
    /// `report` (default): log, count, carry on.
    Report,
    /// `fail-fast`: stop at the first failed scenario, exit 1.
    FailFast,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    pub steps: Vec<Step>,
}

/// One step: exactly one of the seven kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    PodAction(PodAction),
    NodeAction(NodeAction),
    Kubectl(Kubectl),
    ProbeHttp(ProbeHttp),
    Wait(Wait),
    Clone(Clone),
    AlertManager(AlertManagerAction),
}

impl Step {
    /// The step's key in the policy file.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::PodAction(_) => "podAction",
            Step::NodeAction(_) => "nodeAction",
            Step::Kubectl(_) => "kubectl",
            Step::ProbeHttp(_) => "probeHTTP",
            Step::Wait(_) => "wait",
            Step::Clone(_) => "clone",
            Step::AlertManager(_) => "alertManagerAction",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodAction {
    /// Unioned and de-duplicated.
    pub matches: Vec<PodMatch>,
    /// Applied in order.
    pub filters: Vec<Filter>,
    /// Applied to every pod left.
    pub actions: Vec<PodActionKind>,
    pub retries: Option<Retries>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodMatch {
    Namespace(String),
    Deployment { name: String, namespace: String },
    Labels { selector: String, namespace: String },
}

/// A filter of pods or nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Case-insensitive regular expression on an attribute; `negative` inverts.
    Property(Property),
    DayTime(DayTime),
    /// Neither given: the whole set (upstream's `ratio` default 1).
    RandomSample {
        size: Option<u64>,
        ratio: Option<f64>,
    },
    /// Pass the whole set with this probability, else nothing.
    Probability(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: PropertyName,
    pub value: String,
    pub negative: bool,
}

/// The attributes a `property` filter or a node match reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyName {
    Name,
    State,
    /// Nodes only.
    Ip,
    /// Nodes only: a cloud driver's attribute.
    Group,
    /// Nodes only: a cloud driver's attribute.
    Az,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DayTime {
    pub only_days: Vec<Weekday>,
    pub start: TimeOfDay,
    pub end: TimeOfDay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay {
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PodActionKind {
    /// Delete the pod (grace period 0) with this probability per pod (default 1).
    Kill {
        probability: f64,
        force: bool,
    },
    Wait(Wait),
    CheckPodState {
        state: String,
    },
    CheckPodCount {
        count: f64,
    },
    /// Stop the pods' nodes through a cloud driver: out of scope (validated, refused at run).
    StopHost {
        auto_restart: bool,
    },
}

/// `retries` of a pod, node or Alertmanager step: rerun the whole step until it succeeds.
#[derive(Debug, Clone, PartialEq)]
pub enum Retries {
    Count { count: f64, sleep: f64 },
    Timeout { timeout: f64, sleep: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeAction {
    /// Each a property match on a node attribute.
    pub matches: Vec<Property>,
    pub filters: Vec<Filter>,
    pub actions: Vec<NodeActionKind>,
    pub retries: Option<Retries>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeActionKind {
    /// Through a cloud driver: out of scope.
    Start,
    /// Through a cloud driver: out of scope.
    Stop {
        force: bool,
        auto_restart: bool,
    },
    /// Over SSH: out of scope (upstream's Kubernetes executor does nothing either).
    Execute {
        cmd: String,
    },
    Wait(Wait),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Kubectl {
    pub action: KubectlAction,
    /// The manifest(s), YAML or JSON, as `kubectl -f -` would read them.
    pub payload: String,
    pub auto_delete: bool,
    pub proxy: String,
    /// `None`: through the Kubernetes API; a name: run that binary as upstream does.
    pub kubectl_binary: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubectlAction {
    Apply,
    Delete,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeHttp {
    pub target: ProbeTarget,
    pub retries: u64,
    pub delay_ms: f64,
    pub timeout_ms: f64,
    pub code: u16,
    pub count: u64,
    pub endpoint: String,
    pub method: HttpMethod,
    pub body: String,
    pub headers: Vec<(String, String)>,
    pub proxy: String,
    pub insecure: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeTarget {
    Url(String),
    Service {
        name: String,
        namespace: String,
        port: u16,
        https: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
    Patch,
    Head,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    pub name: String,
    pub namespace: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clone {
    pub source: ServiceRef,
    pub replicas: u64,
    pub services_to_retarget: Vec<ServiceRef>,
    pub labels: Vec<CloneLabel>,
    pub mutations: Vec<Mutation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloneLabel {
    /// Copy this service's selector labels.
    Service(ServiceRef),
    Label {
        key: String,
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    Environment {
        name: String,
        value: String,
    },
    Tc {
        command: Vec<String>,
        args: Vec<String>,
        user: u64,
        image: String,
    },
    Toxiproxy(ToxiproxyMutation),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToxiproxyMutation {
    pub user: u64,
    pub image_iptables: String,
    /// `None`: Shakedown's own image, running `chaos proxy serve`.
    pub image_toxiproxy: Option<String>,
    /// `None`: [`DEFAULT_TOXIPROXY_CLI`] with a named image, [`SHAKEDOWN_TOXIPROXY_CLI`]
    /// with Shakedown's.
    pub toxiproxy_cli: Option<String>,
    pub proxies: Vec<ExtraProxy>,
    pub toxics: Vec<Toxic>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraProxy {
    pub name: String,
    pub listen: String,
    pub upstream: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Toxic {
    /// A proxy name, or a bare port number meaning `auto<port>`.
    pub target_proxy: String,
    pub toxic_type: String,
    pub attributes: Vec<(String, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertManagerAction {
    pub targets: Vec<String>,
    pub actions: Vec<Mute>,
    pub proxy_http: String,
    pub proxy_https: String,
    pub retries: Option<Retries>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mute {
    pub duration_seconds: u64,
    pub auto_unmute: bool,
}
