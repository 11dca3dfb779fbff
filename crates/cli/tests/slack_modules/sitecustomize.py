"""Test harness only (crates/cli/tests/slack.rs): points the WebClient of slackclient 2.9
(chaosslack.notification) and of slack_sdk 3 (chaosslack.control) at SLACK_API_URL, the
recording stand-in for the Slack Web API, as Shakedown's native modules are pointed by that
variable. chaostoolkit-slack itself cannot be told another base URL."""
import os

_url = os.environ.get("SLACK_API_URL")
if _url:
    import importlib

    for _name in ("slack.web.base_client", "slack_sdk.web.base_client"):
        try:
            _module = importlib.import_module(_name)
        except ImportError:
            continue

        def _init(self, *args, _orig=_module.BaseClient.__init__, **kwargs):
            kwargs.setdefault("base_url", _url)
            _orig(self, *args, **kwargs)

        _module.BaseClient.__init__ = _init
