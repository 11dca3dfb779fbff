//! `chaosk8s.chaosmesh.network.probes`.

use providers::registry::Kind;

use crate::chaosmesh::{get, list, listing, named, NetworkChaos};
use crate::common::{body, Spec};

pub const MODULE: &str = "chaosk8s.chaosmesh.network.probes";

pub(crate) const SPECS: &[Spec] = &[
    listing(
        "get_network_faults",
        "The NetworkChaos objects in `ns` (the API's list).",
        body!(list::<NetworkChaos>),
    ),
    named(
        "get_network_fault",
        Kind::Probe,
        "The NetworkChaos `name` in `ns`, as the API returns it.",
        body!(get::<NetworkChaos>),
    ),
];
