"""A real MSAL Python peer for Tokendesk's cache interop tests.

Run with Debian's /usr/bin/python3 (python3-msal). It never touches the network: every
HTTP request goes to FakeHTTP, which answers from the spec the Go test sends on stdin.

    msal_peer.py write   spec -> {"cache": "<serialized cache>", "posts": N}
        Signs in with acquire_token_by_refresh_token against the canned token response,
        and prints the cache MSAL Python wrote.
    msal_peer.py read    spec -> {"accounts": [...], "result": {...} | null, "posts": N}
        Loads spec["cache"], lists the accounts and calls acquire_token_silent for
        spec["scopes"] with the account named spec["username"].

spec: {"client_id", "authority", "scopes", "discovery", "instance", "token_response",
       "refresh_token", "cache", "username"}
"""
import json
import sys

import msal
from msal_offline import Resp


class FakeHTTP(object):
    """MSAL's http_client duck type, answering from the spec only."""

    def __init__(self, spec):
        self.spec = spec
        self.posts = []

    def get(self, url, params=None, headers=None, **kwargs):
        if "openid-configuration" in url:
            return Resp(200, self.spec["discovery"])
        if "discovery/instance" in url:
            return Resp(200, self.spec["instance"])
        return Resp(404, {"error": "not_found"})

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        self.posts.append(url)
        if not self.spec.get("token_response"):
            return Resp(400, {"error": "invalid_grant", "error_description": "no token in this test"})
        return Resp(200, self.spec["token_response"])

    def close(self):
        pass


def main():
    mode = sys.argv[1]
    spec = json.load(sys.stdin)
    http = FakeHTTP(spec)
    cache = msal.SerializableTokenCache()
    if spec.get("cache"):
        cache.deserialize(spec["cache"])
    app = msal.PublicClientApplication(
        spec["client_id"], authority=spec["authority"], http_client=http, token_cache=cache)
    out = {"version": msal.__version__}
    if mode == "write":
        result = app.acquire_token_by_refresh_token(spec["refresh_token"], spec["scopes"])
        if "error" in result:
            raise SystemExit("acquire_token_by_refresh_token: %s" % result)
        out["cache"] = cache.serialize()
    elif mode == "read":
        accounts = app.get_accounts()
        out["accounts"] = accounts
        chosen = [a for a in accounts if a["username"].lower() == spec["username"].lower()]
        result = app.acquire_token_silent(spec["scopes"], chosen[0]) if chosen else None
        out["result"] = {k: result[k] for k in ("access_token", "token_type") if k in result} if result else None
        out["source"] = (result or {}).get("token_source")
    else:
        raise SystemExit("unknown mode " + mode)
    out["posts"] = len(http.posts)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
