#!/usr/bin/env python3
"""Ask the ACME server what it holds for a certbot account.

usage: account_state.py DIRECTORY_URL CERTBOT_ACCOUNT_DIR

Prints the account's status ("valid", "deactivated") as the server reports
it, or the problem type it answers with (e.g.
urn:ietf:params:acme:error:unauthorized), so a test can tell that
`certbot unregister` really deactivated the account on the server rather
than only deleting certbot's own files. TLS trust: REQUESTS_CA_BUNDLE.
"""
import json
import os
import sys

import josepy as jose
from acme import client, errors, messages


def main():
    directory_url, account_dir = sys.argv[1], sys.argv[2]
    with open(os.path.join(account_dir, "private_key.json")) as f:
        key = jose.JWK.json_loads(f.read())
    with open(os.path.join(account_dir, "regr.json")) as f:
        uri = json.load(f)["uri"]
    regr = messages.RegistrationResource(body=messages.Registration(), uri=uri)
    net = client.ClientNetwork(key, account=regr, user_agent="chainsmith-tests")
    directory = messages.Directory.from_json(net.get(directory_url).json())
    acme = client.ClientV2(directory, net)
    try:
        print(acme.query_registration(regr).body.status)
    except errors.Error as e:
        print(getattr(e, "typ", None) or str(e))


if __name__ == "__main__":
    main()
