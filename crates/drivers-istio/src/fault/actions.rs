//! `chaosistio.fault.actions`: `set_fault` / `unset_fault` and the abort and delay
//! shorthands built on them, as upstream.

use experiment::{Map, Value};
use providers::registry::Kind;
use providers::table::{Bound, Def, Spec, CONFIGURATION, P, SECRETS};
use providers::ProviderError;

use super::args::{self, ArgError};
use super::patch::Edit;
use super::{bad_argument, change, MERGE, NS, PERCENT, PERCENTAGE, ROUTES, VERSION, VS_NAME};

pub const MODULE: &str = "chaosistio.fault.actions";

const FAULT: P = ("fault", Def::Required, Some("mapping"));
const FIXED_DELAY: P = ("fixed_delay", Def::Required, Some("string"));
const HTTP_STATUS: P = ("http_status", Def::Required, Some("integer"));

/// What every action answers: the PATCH's `{status, body, headers}`.
const fn action(
    name: &'static str,
    doc: &'static str,
    params: &'static [P],
    body: providers::table::Body,
) -> Spec {
    Spec {
        name,
        kind: Kind::Action,
        doc,
        params,
        return_type: Some("mapping"),
        body,
    }
}

pub(crate) const SPECS: &[Spec] = &[
    action(
        "set_fault",
        "Set `fault` (an Istio HTTPFaultInjection) on every HTTP rule of Virtual Service \
`virtual_service_name` routing to a destination in `routes`, replacing the rule's fault \
(`merge: true`: adding its kinds to it).",
        &[
            VS_NAME,
            ROUTES,
            FAULT,
            NS,
            VERSION,
            MERGE,
            CONFIGURATION,
            SECRETS,
        ],
        providers::body!(set_fault),
    ),
    action(
        "add_delay_fault",
        "Delay requests by `fixed_delay` (e.g. \"5s\") on the HTTP rules routing to `routes`, \
for `percentage` % of them (all when unset).",
        &[
            VS_NAME,
            FIXED_DELAY,
            ROUTES,
            PERCENTAGE,
            NS,
            VERSION,
            MERGE,
            PERCENT,
            CONFIGURATION,
            SECRETS,
        ],
        providers::body!(add_delay_fault),
    ),
    action(
        "add_abort_fault",
        "Answer `http_status` early on the HTTP rules routing to `routes`, for `percentage` % \
of requests (all when unset).",
        &[
            VS_NAME,
            HTTP_STATUS,
            ROUTES,
            PERCENTAGE,
            NS,
            VERSION,
            MERGE,
            PERCENT,
            CONFIGURATION,
            SECRETS,
        ],
        providers::body!(add_abort_fault),
    ),
    action(
        "unset_fault",
        "Remove the fault of every HTTP rule of Virtual Service `virtual_service_name` routing \
to a destination in `routes`.",
        &[VS_NAME, ROUTES, NS, VERSION, CONFIGURATION, SECRETS],
        providers::body!(unset_fault),
    ),
    action(
        "remove_delay_fault",
        "Remove the fault (abort too, as upstream; only the delay with `merge: true`) of the \
HTTP rules routing to `routes`.",
        &[VS_NAME, ROUTES, NS, VERSION, MERGE, CONFIGURATION, SECRETS],
        providers::body!(remove_delay_fault),
    ),
    action(
        "remove_abort_fault",
        "Remove the fault (delay too, as upstream; only the abort with `merge: true`) of the \
HTTP rules routing to `routes`.",
        &[VS_NAME, ROUTES, NS, VERSION, MERGE, CONFIGURATION, SECRETS],
        providers::body!(remove_abort_fault),
    ),
];

fn merging(call: &Bound<'_>) -> Result<bool, ProviderError> {
    args::merge(call.arg("merge")).map_err(bad_argument)
}

/// Writes `fault` (a mapping when merging) into the targeted rules.
async fn write(call: &Bound<'_>, fault: &Value) -> Result<Value, ProviderError> {
    if merging(call)? {
        let Value::Object(kinds) = fault else {
            return Err(bad_argument(ArgError::FaultNotMapping(
                experiment::pyrepr::py_repr(fault),
            )));
        };
        change(call, Edit::Merge(kinds)).await
    } else {
        change(call, Edit::Replace(fault)).await
    }
}

async fn set_fault(call: Bound<'_>) -> Result<Value, ProviderError> {
    let fault = call.arg("fault").clone();
    write(&call, &fault).await
}

/// `{<kind>: {<fields>, percentage: {value}}}`, `percentage` only when given.
fn fault_of(call: &Bound<'_>, kind: &str, mut fields: Map) -> Result<Value, ProviderError> {
    if let Some(p) =
        args::percentage(call.arg("percentage"), call.arg("percent")).map_err(bad_argument)?
    {
        fields.insert("percentage".into(), p);
    }
    let mut fault = Map::new();
    fault.insert(kind.into(), Value::Object(fields));
    Ok(Value::Object(fault))
}

async fn add_delay_fault(call: Bound<'_>) -> Result<Value, ProviderError> {
    let mut fields = Map::new();
    fields.insert("fixedDelay".into(), call.arg("fixed_delay").clone());
    let fault = fault_of(&call, "delay", fields)?;
    write(&call, &fault).await
}

async fn add_abort_fault(call: Bound<'_>) -> Result<Value, ProviderError> {
    let mut fields = Map::new();
    fields.insert(
        "httpStatus".into(),
        args::http_status(call.arg("http_status")),
    );
    let fault = fault_of(&call, "abort", fields)?;
    write(&call, &fault).await
}

async fn unset_fault(call: Bound<'_>) -> Result<Value, ProviderError> {
    change(&call, Edit::RemoveAll).await
}

async fn remove(call: &Bound<'_>, kind: &'static str) -> Result<Value, ProviderError> {
    let edit = if merging(call)? {
        Edit::RemoveKind(kind)
    } else {
        Edit::RemoveAll
    };
    change(call, edit).await
}

async fn remove_delay_fault(call: Bound<'_>) -> Result<Value, ProviderError> {
    remove(&call, "delay").await
}

async fn remove_abort_fault(call: Bound<'_>) -> Result<Value, ProviderError> {
    remove(&call, "abort").await
}
