"""MSAL Python 1.21's side of `make bench-cli`. Run with Debian's /usr/bin/python3
(python3-msal). It never touches the network: every HTTP request goes to FakeHTTP.

    msal_bench.py write N OUT
        Signs N users in through MSAL Python itself (acquire_token_by_refresh_token,
        answered by FakeHTTP with one access, refresh and ID token per user) and writes
        the cache MSAL serialized to OUT, in plain text.
    msal_bench.py token CACHE USERNAME SCOPE
        The timed job: load CACHE, find the account USERNAME, acquire_token_silent for
        SCOPE (a cache hit) and print the access token.
    msal_bench.py accounts CACHE
        Load CACHE and print every account (get_accounts), for `tokendesk accounts`.

Users are written in batches of 250 into fresh caches whose sections are then merged:
MSAL's TokenCache.add scans every cached token on each add, so one cache of 10,000
users would take an hour; users never share entries, so the merge is exact.
"""
import base64
import json
import os
import sys
import time

import msal

# Resp is shared with the conformance runner and the interop peer.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "identity", "testdata"))
from msal_offline import Resp  # noqa: E402

CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"  # Tokendesk's default profile
AUTHORITY = "https://login.microsoftonline.com/organizations"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SCOPE = "https://management.azure.com/user_impersonation"
BATCH = 250


def b64(obj):
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def uid(i):
    return "%08x-0000-4000-8000-%012x" % (i, i)


def username(i):
    return "user%05d@contoso.example" % i


class FakeHTTP(object):
    """MSAL's http_client duck type: discovery documents and one canned token answer."""

    def __init__(self):
        self.answer = None

    def get(self, url, params=None, headers=None, **kwargs):
        base = "https://login.microsoftonline.com/organizations"
        if "openid-configuration" in url:
            return Resp(200, {
                "authorization_endpoint": base + "/oauth2/v2.0/authorize",
                "token_endpoint": base + "/oauth2/v2.0/token",
                "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
            })
        if "discovery/instance" in url:
            return Resp(200, {
                "tenant_discovery_endpoint": base + "/v2.0/.well-known/openid-configuration",
                "metadata": [{"preferred_network": "login.microsoftonline.com",
                              "preferred_cache": "login.windows.net",
                              "aliases": ["login.microsoftonline.com", "login.windows.net",
                                          "login.microsoft.com", "sts.windows.net"]}],
            })
        return Resp(404, {"error": "not_found"})

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        if self.answer is None:
            return Resp(400, {"error": "invalid_grant", "error_description": "offline benchmark"})
        return Resp(200, self.answer)

    def close(self):
        pass


def answer(i, now):
    claims = {
        "aud": CLIENT_ID, "iss": "https://login.microsoftonline.com/%s/v2.0" % TENANT,
        "iat": now, "nbf": now, "exp": now + 10 * 365 * 86400,
        "name": "User %05d" % i, "oid": uid(i), "preferred_username": username(i),
        "sub": "sub-%05d" % i, "tid": TENANT, "ver": "2.0",
    }
    id_token = b64({"typ": "JWT", "alg": "none"}) + "." + b64(claims) + "."
    # Sizes like Entra's: a 1.4 KB access token JWT, a 0.9 KB refresh token.
    at = b64({"typ": "JWT", "alg": "RS256"}) + "." + b64({"oid": uid(i), "pad": "a" * 350}) + ".sig%05d" % i
    return {
        "token_type": "Bearer", "scope": SCOPE, "expires_in": 10 * 365 * 86400,
        "ext_expires_in": 10 * 365 * 86400, "access_token": at,
        "refresh_token": "0.AAAA" + ("r" * 400) + "%05d" % i, "id_token": id_token,
        "client_info": b64({"uid": uid(i), "utid": TENANT}),
    }


def write(n, out):
    now = int(time.time())
    merged = {}
    for start in range(0, n, BATCH):
        http = FakeHTTP()
        cache = msal.SerializableTokenCache()
        app = msal.PublicClientApplication(CLIENT_ID, authority=AUTHORITY, http_client=http, token_cache=cache)
        for i in range(start, min(n, start + BATCH)):
            http.answer = answer(i, now)
            result = app.acquire_token_by_refresh_token("rt-from-elsewhere", [SCOPE])
            if "error" in result:
                raise SystemExit("acquire_token_by_refresh_token: %s" % result)
        for section, entries in json.loads(cache.serialize()).items():
            merged.setdefault(section, {}).update(entries)
    with open(out, "w") as f:
        json.dump(merged, f, indent=4)
    print("msal_bench: %d users written by MSAL Python %s to %s" % (n, msal.__version__, out), file=sys.stderr)


def token(cache_file, user, scope):
    cache = msal.SerializableTokenCache()
    with open(cache_file) as f:
        cache.deserialize(f.read())
    app = msal.PublicClientApplication(CLIENT_ID, authority=AUTHORITY, http_client=FakeHTTP(), token_cache=cache)
    accounts = app.get_accounts(username=user)
    if not accounts:
        raise SystemExit("no account %s" % user)
    result = app.acquire_token_silent([scope], accounts[0])
    if not result or "access_token" not in result:
        raise SystemExit("no cached token: %s" % result)
    print(result["access_token"])


def accounts(cache_file):
    cache = msal.SerializableTokenCache()
    with open(cache_file) as f:
        cache.deserialize(f.read())
    app = msal.PublicClientApplication(CLIENT_ID, authority=AUTHORITY, http_client=FakeHTTP(), token_cache=cache)
    for a in app.get_accounts():
        print(a["username"], a["home_account_id"])


def main():
    if sys.argv[1] == "write":
        write(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "accounts":
        accounts(sys.argv[2])
    elif sys.argv[1] == "token":
        token(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit("unknown mode " + sys.argv[1])


if __name__ == "__main__":
    main()
