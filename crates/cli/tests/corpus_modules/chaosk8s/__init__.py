"""Stand-in for the part of the KubeCon demo's fork of chaostoolkit-kubernetes that was
never released: `chaosk8s.deployment.actions.set_deployment_image` and
`rollback_deployment`, `chaosk8s.deployment.probes.collect_deployment_status`. Only those
two modules are here; Shakedown answers every other `chaosk8s` module natively (and is
told to bridge these two with CHAOS_PYTHON_MODULES=chaosk8s.deployment.). No Kubernetes
API is contacted: the deployments live in this module."""
