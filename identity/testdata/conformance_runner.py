"""Plays conformance scenarios through MSAL Python (the reference for identity).

Run with Debian's /usr/bin/python3 (python3-msal 1.21). conformance_test.go reads the
scenarios in testdata/conformance/, fills in what depends on the clock (ID tokens,
client_info), and sends them here in one batch on stdin:

    {"scenarios": [{"name", "authority", "client_id", "client_secret", "discovery",
                    "instance", "cache", "steps": [...]}, ...]}

It prints, per scenario, what each step returned and sent, and the cache at the end:

    {"version": "1.21.0", "results": {name: {"steps": [{"result", "requests"}],
                                             "cache": "<serialized>"}}}

Nothing touches the network: FakeHTTP answers GETs from the scenario (discovery,
instance discovery, user realm) and POSTs from the step's scripted replies, and
records every request. conformance_test.go plays the same steps through identity and
compares. A step's "do" names the MSAL Python method it calls.
"""
import base64
import hashlib
import json
import sys

import msal
from msal_offline import Resp

# Headers MSAL defines whose value must be the same on both sides; the others
# (x-client-sku/-ver/-os/-cpu, client-request-id, telemetry) name the library or are
# random. See identity/CONFORMANCE.md.
COMPARED_HEADERS = ("x-anchormailbox",)


class FakeHTTP(object):
    """MSAL's http_client duck type, answering from the scenario only."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.requests = []
        self.replies = []

    def _record(self, method, url, params, data, headers):
        hdrs = {}
        for k, v in (headers or {}).items():
            if k.lower() in COMPARED_HEADERS:
                hdrs[k.lower()] = str(v)
        form = {}
        for k, v in (data or {}).items():
            form[k] = v.decode() if isinstance(v, bytes) else str(v)
        self.requests.append({"method": method, "url": url, "params": {
            k: str(v) for k, v in (params or {}).items()}, "form": form, "headers": hdrs})

    def get(self, url, params=None, headers=None, **kwargs):
        self._record("GET", url, params, None, headers)
        if "openid-configuration" in url:
            return Resp(200, self.scenario["discovery"])
        if "discovery/instance" in url:
            return Resp(200, self.scenario["instance"])
        if "/userrealm/" in url:
            return Resp(200, {"account_type": "Managed", "ver": "1.0"})
        return Resp(404, {"error": "not_found"})

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        self._record("POST", url, params, data, headers)
        if not self.replies:
            return Resp(400, {"error": "no_reply_scripted",
                              "error_description": "the scenario scripts no reply for this request"})
        reply = self.replies.pop(0)
        return Resp(reply["status"], reply["body"])

    def close(self):
        pass


def b64(obj):
    raw = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def bind_nonce(replies, nonce):
    """Auth code flow: the ID token must carry the flow's (random) nonce, hashed."""
    for reply in replies:
        claims = reply["body"].get("id_token_claims_with_nonce")
        if claims is not None:
            claims = dict(claims, nonce=hashlib.sha256(nonce.encode()).hexdigest())
            body = dict(reply["body"])
            del body["id_token_claims_with_nonce"]
            body["id_token"] = b64({"alg": "RS256", "typ": "JWT"}) + "." + b64(claims) + ".c2ln"
            reply["body"] = body


def outcome(result):
    if result is None:
        return {"none": True}
    if "error" in result:
        return {"error": result["error"]}
    return {"access_token": result.get("access_token")}


def listed(accounts):
    return [{k: a.get(k) for k in ("home_account_id", "environment", "username", "authority_type")}
            for a in accounts]


def pick(app, username):
    for a in app.get_accounts():
        if (a.get("username") or "").lower() == username.lower():
            return a
    return None


def play(scenario):
    http = FakeHTTP(scenario)
    cache = msal.SerializableTokenCache()
    if scenario.get("cache"):
        cache.deserialize(scenario["cache"])
    apps = {}

    def app_for(client_id):
        if client_id not in apps:
            kwargs = dict(authority=scenario["authority"], http_client=http, token_cache=cache)
            if scenario.get("client_secret"):
                apps[client_id] = msal.ConfidentialClientApplication(
                    client_id, client_credential=scenario["client_secret"], **kwargs)
            else:
                apps[client_id] = msal.PublicClientApplication(client_id, **kwargs)
        return apps[client_id]

    steps = []
    for step in scenario["steps"]:
        app = app_for(step.get("client_id") or scenario["client_id"])
        http.requests = []
        http.replies = [dict(r) for r in step.get("replies", [])]
        do = step["do"]
        scopes = step.get("scopes")
        out = {}
        if do == "acquire_token_by_refresh_token":
            out = outcome(app.acquire_token_by_refresh_token(step["refresh_token"], scopes))
        elif do in ("acquire_token_silent", "acquire_token_silent_with_error"):
            account = pick(app, step["username"])
            if account is None:
                out = {"no_account": True}
            else:
                out = outcome(getattr(app, do)(scopes, account, force_refresh=step.get("force_refresh", False)))
        elif do == "get_accounts":
            out = {"accounts": listed(app.get_accounts())}
        elif do == "remove_account":
            account = pick(app, step["username"])
            if account is not None:
                app.remove_account(account)
            out = {"removed": account is not None}
        elif do == "acquire_token_by_auth_code_flow":
            flow = app.initiate_auth_code_flow(scopes, redirect_uri=step["redirect_uri"])
            bind_nonce(http.replies, flow["nonce"])
            response = dict(step["auth_response"], state=flow["state"])
            out = outcome(app.acquire_token_by_auth_code_flow(flow, response))
        elif do == "acquire_token_by_authorization_code":
            out = outcome(app.acquire_token_by_authorization_code(
                step["code"], scopes, redirect_uri=step["redirect_uri"]))
        elif do == "acquire_token_by_username_password":
            out = outcome(app.acquire_token_by_username_password(step["username"], step["password"], scopes))
        elif do == "acquire_token_by_device_flow":
            flow = app.initiate_device_flow(scopes)
            if "error" in flow:
                out = {"error": flow["error"]}
            else:
                out = outcome(app.acquire_token_by_device_flow(flow))
        elif do == "acquire_token_for_client":
            # 1.21's acquire_token_for_client never reads the cache; its documented
            # pattern (which identity's AcquireTokenForClient follows) looks there first.
            out = outcome(app.acquire_token_silent(scopes, account=None) or app.acquire_token_for_client(scopes))
        else:
            raise SystemExit("unknown step %r" % do)
        steps.append({"result": out, "requests": http.requests})
    return {"steps": steps, "cache": cache.serialize()}


def main():
    batch = json.load(sys.stdin)
    results = {}
    for scenario in batch["scenarios"]:
        results[scenario["name"]] = play(scenario)
    json.dump({"version": msal.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
