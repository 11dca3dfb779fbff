//! `chaosistio` (chaostoolkit-istio) without Python: Istio's HTTP fault injection (abort and
//! delay) written into `networking.istio.io` VirtualService objects, under the upstream module
//! paths `chaosistio.fault.actions` and `chaosistio.fault.probes`, with upstream argument
//! names, defaults, return shapes (`{status, body, headers}`, API refusals of the PATCH
//! returned rather than raised) and failure messages.
//!
//! Why a crate of its own rather than a module of `drivers-k8s`: the only thing shared with
//! `chaosk8s` is the API client and its credentials, which `drivers_k8s::api` already exports
//! for other crates (the PowerfulSeal runner uses it the same way). Everything else — the
//! patch algorithm, the reference's quirks kept or fixed, the `merge` extension — is Istio's
//! own and reads better apart; and a change here rebuilds this small crate, not the large one.
//!
//! What the reference gets wrong and Shakedown does not (docs/compatibility.md, "chaosistio"):
//! a `percentage` given as `{value: N}` is no longer nested twice, the old `percent` spelling
//! is accepted, `KUBERNETES_CA_CERT_FILE` is the CA (drivers-k8s's credentials), a route
//! without `host` or a VirtualService without HTTP routes is refused with a message saying
//! so, and `chaos validate` refuses malformed `fixed_delay`, `http_status` and `percentage`
//! values at their line instead of the API refusing them mid-run.

pub mod fault;

use providers::registry::{Package, Registry};

/// The distribution name `chaos discover` answers to.
pub const PACKAGE: &str = "chaostoolkit-istio";
/// The upstream release whose functions and signatures this crate mirrors.
pub const UPSTREAM_VERSION: &str = "0.4.1";

/// Registers every `chaosistio` function, their validation checks and the
/// `chaostoolkit-istio` package.
pub fn register(registry: &mut Registry) {
    for spec in fault::actions::SPECS {
        registry.register(spec.function(fault::actions::MODULE));
        registry.register_arguments_check(fault::actions::MODULE, spec.name, check);
    }
    for spec in fault::probes::SPECS {
        registry.register(spec.function(fault::probes::MODULE));
    }
    registry.register_package(Package {
        name: PACKAGE,
        version: UPSTREAM_VERSION,
        target: "istio",
        modules: vec![fault::actions::MODULE, fault::probes::MODULE],
    });
}

/// `chaos validate`'s check of an action's declared arguments.
fn check(_func: &str, arguments: &experiment::Map) -> Result<(), (String, String)> {
    fault::args::check(arguments).map_err(|(argument, e)| (argument.to_string(), e.to_string()))
}
