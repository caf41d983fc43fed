"""Python azure-identity (Debian python3-azure) asking Azure CLI for a token.

Run with /usr/bin/python3; `az` on PATH is whatever the test put there (a link to the
tokendesk binary). Prints one JSON object.

    azure_identity_peer.py cli SCOPE [TENANT]   AzureCliCredential().get_token(SCOPE)
    azure_identity_peer.py chain SCOPE          ChainedTokenCredential(AzureCliCredential(), Next())
                                                where Next answers "from-the-next-credential"
"""
import json
import sys

import azure.identity
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import AzureCliCredential, ChainedTokenCredential, CredentialUnavailableError


class Next(object):
    def get_token(self, *scopes, **kwargs):
        return AccessToken("from-the-next-credential", 4102444800)


def main():
    mode, scope = sys.argv[1], sys.argv[2]
    out = {"version": azure.identity.__version__}
    try:
        if mode == "cli":
            cred = AzureCliCredential(tenant_id=sys.argv[3]) if len(sys.argv) > 3 else AzureCliCredential()
        else:
            cred = ChainedTokenCredential(AzureCliCredential(), Next())
        tok = cred.get_token(scope)
        out.update(token=tok.token, expires_on=tok.expires_on)
    except CredentialUnavailableError as e:
        out.update(error="unavailable", message=str(e))
    except ClientAuthenticationError as e:
        out.update(error="authentication", message=str(e))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
