"""Test harness only (crates/cli/tests/gremlin.rs): points chaostoolkit-gremlin at
GREMLIN_API_URL, the recording stand-in for the Gremlin API, as Shakedown's native module is
pointed by that variable. chaosgremlin hard-codes GREMLIN_BASE_URL and copies it into
chaosgremlin.actions at import, so both names are set; nothing else is changed."""
import os

_url = os.environ.get("GREMLIN_API_URL")
if _url:
    try:
        import chaosgremlin
        import chaosgremlin.actions
    except ImportError:
        pass
    else:
        chaosgremlin.GREMLIN_BASE_URL = _url
        chaosgremlin.actions.GREMLIN_BASE_URL = _url
