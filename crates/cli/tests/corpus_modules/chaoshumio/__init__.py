"""Stand-in for chaostoolkit-humio (`chaoshumio`) as the rollout demo used it: events
pushed to a Humio dataspace with an ingest token, from the `humio` secrets scope (`token`,
`dataspace`). Nothing is sent: each event is recorded with the dataspace it would go to."""
from corpus_record import record

__all__ = ["push_to_humio"]


def push_to_humio(event, secrets):
    token = (secrets.get("token") or "").strip()
    dataspace = (secrets.get("dataspace") or "").strip()
    if not token or not dataspace:
        return
    summary = {"name": event["name"], "type": event.get("type", "experiment")}
    state = event.get("state")
    if isinstance(state, dict):
        for key in ("status", "steady_state_met"):
            if key in state:
                summary[key] = state[key]
        if "activity" in state:
            summary["activity"] = state["activity"].get("name")
    elif isinstance(state, list):
        summary["runs"] = [r.get("activity", {}).get("name") for r in state]
    record("chaoshumio", "push_to_humio", dataspace=dataspace, token_length=len(token), event=summary)
