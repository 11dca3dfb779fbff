//! `chaosk8s.chaosmesh.stress.probes`.

use providers::registry::Kind;

use crate::chaosmesh::{get, list, listing, named, StressChaos};
use crate::common::{body, Spec};

pub const MODULE: &str = "chaosk8s.chaosmesh.stress.probes";

pub(crate) const SPECS: &[Spec] = &[
    listing(
        "get_stressors",
        "The StressChaos objects in `ns` (the API's list).",
        body!(list::<StressChaos>),
    ),
    named(
        "get_stressor",
        Kind::Probe,
        "The StressChaos `name` in `ns`, as the API returns it.",
        body!(get::<StressChaos>),
    ),
];
