//! `chaosistio.fault.probes`.

use providers::registry::Kind;
use providers::table::{Spec, CONFIGURATION, SECRETS};

use super::{NS, VERSION, VS_NAME};

pub const MODULE: &str = "chaosistio.fault.probes";

pub(crate) const SPECS: &[Spec] = &[Spec {
    name: "get_virtual_service",
    kind: Kind::Probe,
    doc: "Read Virtual Service `virtual_service_name` in `ns` at `version` (group/version): \
`{status, body, headers}` of the API's answer, an error status included.",
    params: &[VS_NAME, NS, VERSION, CONFIGURATION, SECRETS],
    return_type: Some("mapping"),
    body: providers::body!(super::get),
}];
