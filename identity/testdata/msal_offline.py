"""The HTTP answer MSAL Python's offline peers hand back: the response duck type its
http_client must return (status_code, text, headers, raise_for_status). Shared by the
conformance runner, the interop peer (both beside this file) and the bench-cli script
(scripts/bench-cli/msal_bench.py, which puts this directory on sys.path)."""
import json


class Resp(object):
    """A canned response whose body is body, encoded as JSON."""

    def __init__(self, status, body):
        self.status_code = status
        self.text = json.dumps(body)
        self.headers = {}

    def raise_for_status(self):
        if self.status_code >= 400:
            raise RuntimeError("HTTP %d" % self.status_code)
