#!/usr/bin/env python3
"""Generates the labelled secrets corpus for `kt policy eval` (dlp-filter): test/corpora/dlp/
{tune,dev,heldout}.jsonl. The texts (config files, shell sessions, chat questions, logs, JSON) are
written here; every secret is random and shaped like the real kind (OpenAI, Anthropic, GitHub,
Slack bot/user/app tokens and webhooks, Stripe, Google API keys; AWS access key ids and secret
access keys; PEM private keys; JWTs; opaque bearer tokens). Hard negatives: JWT-shaped strings
that are not tokens, UUIDs, hex digests next to key ids, base64 blobs, placeholders
("<your key>", "sk-...", "xoxb-your-token"), public keys and certificates, short look-alikes.
`dev` was the first held-out split; once its misses had been read (issue 16's second round) it
became a development split, and `heldout` was written afresh with another seed, other templates
and other negative wording, never tuned on.

Labels use the dlp-filter's kinds: api_key (provider keys, Slack tokens and webhooks),
cloud_key (AWS key ids and secret access keys), private_key, jwt, bearer_token.

Usage: gen_dlp.py [--out DIR] [--n N]   (deterministic: same output every run)"""
import argparse
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus import Item, make_rng, write  # noqa: E402

SEEDS = {"tune": 380003, "dev": 490004, "heldout": 510023}
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER_DIG = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
B64URL = ALNUM + "-_"
AWS_SECRET = ALNUM + "/+"


def rand(rng, alphabet, n):
    return "".join(rng.choice(alphabet) for _ in range(n))


def with_digit(rng, s):
    i = rng.randrange(len(s))
    return s[:i] + rng.choice("0123456789") + s[i + 1:]


def b64url(obj):
    raw = obj if isinstance(obj, bytes) else json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def aws_secret(rng):
    while True:
        s = rand(rng, AWS_SECRET, 40)
        if any(c.isupper() for c in s) and any(c.islower() for c in s) and any(not c.isalpha() for c in s):
            return s


def api_key(rng, split):
    kind = rng.randrange(9)
    if kind == 0:
        return "sk-" + with_digit(rng, rand(rng, ALNUM, 48))
    if kind == 1:
        return "sk-proj-" + with_digit(rng, rand(rng, B64URL, rng.randint(40, 120)))
    if kind == 2:
        return "sk-ant-api03-" + with_digit(rng, rand(rng, B64URL, 93)) + "AA"
    if kind == 3:
        return rng.choice(["ghp_", "gho_", "ghs_", "ghu_"]) + rand(rng, ALNUM, 36)
    if kind == 4:
        return "github_pat_" + rand(rng, ALNUM, 22) + "_" + rand(rng, ALNUM, 59)
    if kind == 5:
        return (rng.choice(["xoxb-", "xoxp-"]) + str(rng.randint(10**10, 10**12)) + "-" +
                str(rng.randint(10**12, 10**13)) + "-" + rand(rng, ALNUM, 24))
    if kind == 6:
        return ("xapp-1-A" + rand(rng, UPPER_DIG, 10) + "-" + str(rng.randint(10**12, 10**13)) + "-" +
                rand(rng, "0123456789abcdef", 64))
    if kind == 7:
        return ("https://hooks.slack.com/services/T" + rand(rng, UPPER_DIG, 8) + "/B" +
                rand(rng, UPPER_DIG, rng.choice([8, 10])) + "/" + rand(rng, ALNUM, 24))
    if rng.random() < 0.5:
        return rng.choice(["sk_live_", "rk_live_", "sk_test_"]) + with_digit(rng, rand(rng, ALNUM, 24))
    return "AIza" + rand(rng, B64URL, 35)


def key_id(rng):
    return rng.choice(["AKIA", "AKIA", "ASIA"]) + rand(rng, UPPER_DIG, 16)


def private_key(rng):
    label = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY",
                        "ENCRYPTED PRIVATE KEY"])
    body = "\n".join(rand(rng, ALNUM + "+/", 64) for _ in range(rng.randint(2, 6)))
    return "-----BEGIN %s-----\n%s\n-----END %s-----" % (label, body, label)


def jwt(rng):
    alg = rng.choice(["HS256", "RS256", "ES256", "HS512", "PS256"])
    header = {"alg": alg, "typ": "JWT"} if rng.random() < 0.7 else {"typ": "JWT", "alg": alg, "kid": rand(rng, ALNUM, 8)}
    payload = {"sub": str(rng.randint(1, 10**9)), "iat": rng.randint(1.6e9, 1.8e9),
               "scope": rng.choice(["read", "write admin", "openid profile"])}
    if rng.random() < 0.5:
        payload["email"] = "user%d@example.com" % rng.randint(1, 999)
    sig = rand(rng, B64URL, 43 if alg.startswith("HS") else 86)
    return "%s.%s.%s" % (b64url(header), b64url(payload), sig)


def bearer(rng):
    return with_digit(rng, rand(rng, ALNUM + "._-", rng.randint(24, 64)))


TEMPLATES = {
    "tune": {
        "api_key": ["export OPENAI_API_KEY={v}", "My key is {v}, why do I get a 401?", "api_key = \"{v}\"",
                    "client = Client(token=\"{v}\")", "SLACK_TOKEN={v}", "webhook: {v}"],
        "cloud_id": ["aws_access_key_id = {v}", "AWS_ACCESS_KEY_ID={v}", "key id {v} was rotated",
                     "key id {v}, object etag {hex}"],
        "cloud_secret_named": ["aws_secret_access_key = {v}", "AWS_SECRET_ACCESS_KEY={v}",
                               "export AWS_SECRET_ACCESS_KEY=\"{v}\""],
        "cloud_pair": ["credentials: {id} {v}", "Access key {id}\nSecret {v}", "{id}:{v}"],
        "private_key": ["Here is my key, what is wrong with it?\n{v}", "id_rsa:\n{v}\n"],
        "jwt": ["token={v}", "The JWT is {v} — can you decode it?", "{{\"id_token\": \"{v}\"}}"],
        "bearer_token": ["Authorization: Bearer {v}", "curl -H 'Authorization: Bearer {v}' https://api.example.com"],
    },
    "dev": {
        "api_key": ["I pasted {v} into the config and it still fails", "os.environ[\"API_KEY\"] = '{v}'",
                    "token: {v}  # do not commit", "--api-key {v}", "key={v}&model=x",
                    "POST to {v} returns 404"],
        "cloud_id": ["[default]\naws_access_key_id={v}", "\"AccessKeyId\": \"{v}\",", "rotated {v} yesterday",
                     "AccessKeyId {v} (inactive), checksum {hex}"],
        "cloud_secret_named": ["[default]\naws_secret_access_key={v}", "aws_secret_access_key: \"{v}\"",
                               "set AWS_SECRET_ACCESS_KEY = {v}"],
        "cloud_pair": ["id={id} secret={v}", "{id} / {v}", "AccessKey {id}, SecretKey: {v}."],
        "private_key": ["ssh-keygen gave me this, is it safe to share?\n{v}", "```\n{v}\n```"],
        "jwt": ["Cookie: session={v}; Path=/", "decode this please: {v}", "jwt: '{v}'"],
        "bearer_token": ["authorization: bearer {v}", "headers = {{'Authorization': 'Bearer {v}'}}"],
    },
    "heldout": {
        "api_key": ["Why does {v} give me 'invalid api key'?", "ANTHROPIC_API_KEY: {v}",
                    "llm = OpenAI(api_key='{v}')", "secret: {v}", "key is {v} (staging)"],
        "cloud_id": ["aws configure set aws_access_key_id {v}", "access key {v} belongs to the ci user",
                     "AWS key: {v}", "IAM user key {v}, fingerprint {hex}"],
        "cloud_secret_named": ["aws configure set aws_secret_access_key {v}",
                               "AWS_SECRET_ACCESS_KEY: {v}", "aws_secret_access_key={v} # prod"],
        "cloud_pair": ["access_key: {id}\nsecret_key: {v}", "keys {id} and {v}",
                       "AWS creds -> {id} | {v}"],
        "private_key": ["my deploy key:\n{v}", "Is this private key valid?\n\n{v}\n"],
        "jwt": ["X-Auth: {v}", "The access_token {v} expired", "{{\"token\": \"{v}\"}}"],
        "bearer_token": ["-H \"Authorization: Bearer {v}\"", "Authorization: Bearer {v}\nAccept: */*"],
    },
}


def jwt_lookalike(rng):
    kind = rng.randrange(4)
    if kind == 0:   # JSON without alg: a base64url-encoded record, not a token
        return "%s.%s.%s" % (b64url({"user": "u%d" % rng.randint(1, 999), "page": rng.randint(1, 50)}),
                             b64url({"v": rng.randint(1, 9)}), rand(rng, B64URL, 20))
    if kind == 1:   # header fine, payload not JSON
        return "%s.%s.%s" % (b64url({"alg": "HS256"}), b64url(b"not json at all"), rand(rng, B64URL, 43))
    if kind == 2:   # 'eyJ' followed by noise
        return "eyJ" + rand(rng, B64URL, 30) + "." + rand(rng, B64URL, 20) + "." + rand(rng, B64URL, 20)
    return "%s.%s" % (b64url({"cursor": rng.randint(1, 10**6)}), b64url({"n": 1}))


NEGATIVES = {
    "tune": [
        lambda r: "request id %s" % "-".join(rand(r, "0123456789abcdef", n) for n in (8, 4, 4, 4, 12)),
        lambda r: "commit %s" % rand(r, "0123456789abcdef", 40),
        lambda r: "sha256: %s" % rand(r, "0123456789abcdef", 64),
        lambda r: "pagination cursor %s" % jwt_lookalike(r),
        lambda r: "state=%s" % jwt_lookalike(r),
        lambda r: "export OPENAI_API_KEY=<your key here>",
        lambda r: "aws_secret_access_key = YOUR_SECRET_ACCESS_KEY",
        lambda r: "Use the format sk-... for the key",
        lambda r: "pip install scikit-learn sk-video",
        lambda r: "SLACK_TOKEN=xoxb-your-token",
        lambda r: "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----" % rand(r, ALNUM, 64),
        lambda r: "image data: %s" % base64.b64encode(bytes(r.getrandbits(8) for _ in range(30))).decode(),
        lambda r: "Bearer tokens expire after 3600 seconds.",
        lambda r: "see https://api.slack.com/messaging/webhooks for setup",
    ],
    "dev": [
        lambda r: "trace_id=%s span_id=%s" % (rand(r, "0123456789abcdef", 32), rand(r, "0123456789abcdef", 16)),
        lambda r: "md5 %s  file.tar.gz" % rand(r, "0123456789abcdef", 32),
        lambda r: "git rev-parse HEAD -> %s" % rand(r, "0123456789abcdef", 40),
        lambda r: "next_page_token: %s" % jwt_lookalike(r),
        lambda r: "data-config=\"%s\"" % jwt_lookalike(r),
        lambda r: "API_KEY=changeme",
        lambda r: "aws_secret_access_key = ****************",
        lambda r: "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}",
        lambda r: "The xapp- prefix marks app-level tokens.",
        lambda r: "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----" % rand(r, ALNUM, 64),
        lambda r: "nonce %s" % base64.b64encode(bytes(r.getrandbits(8) for _ in range(24))).decode(),
        lambda r: "hooks.slack.com/services/ is the webhook host",
        lambda r: "use the bearer scheme for this endpoint",
        lambda r: "session %s" % rand(r, "0123456789abcdef", 48),
    ],
    "heldout": [
        lambda r: "build id %s" % rand(r, "0123456789abcdef", 40),
        lambda r: "sha1sum: %s" % rand(r, "0123456789abcdef", 40),
        lambda r: "blob %s" % base64.b64encode(bytes(r.getrandbits(8) for _ in range(33))).decode(),
        lambda r: "cursor=%s" % jwt_lookalike(r),
        lambda r: "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxx",
        lambda r: "aws_secret_access_key = <redacted>",
        lambda r: "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
        lambda r: "token: ${TOKEN}",
        lambda r: "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----" % rand(r, ALNUM, 60),
        lambda r: "The Authorization header takes a Bearer token.",
        lambda r: "x-request-id: %s" % rand(r, "0123456789abcdef", 32),
        lambda r: "salt %s" % rand(r, ALNUM, 22),
        lambda r: "Slack webhooks start with https://hooks.slack.com/services/",
        lambda r: "etag W/\"%s\"" % rand(r, "0123456789abcdef", 32),
    ],
}


def fill(tmpl, v, kind, it, extra=None, rng=None):
    if "{hex}" in tmpl:  # a hex digest beside a key id: 40 characters, but not a secret key
        tmpl = tmpl.replace("{hex}", rand(rng, "0123456789abcdef", 40))
    if extra is not None:
        pre, rest = tmpl.split("{id}")
        mid, post = rest.split("{v}")
        it.add(pre.replace("{{", "{").replace("}}", "}")).ent("cloud_key", extra)
        it.add(mid).ent(kind, v).add(post.replace("{{", "{").replace("}}", "}"))
        return
    pre, post = tmpl.split("{v}")
    it.add(pre.replace("{{", "{").replace("}}", "}")).ent(kind, v).add(post.replace("{{", "{").replace("}}", "}"))


KINDS = ["api_key", "api_key", "api_key", "cloud_id", "cloud_secret_named", "cloud_pair", "private_key",
         "jwt", "bearer_token"]


def positive(rng, split, it):
    kind = rng.choice(KINDS)
    t = rng.choice(TEMPLATES[split][kind])
    if kind == "api_key":
        fill(t, api_key(rng, split), "api_key", it)
    elif kind == "cloud_id":
        fill(t, key_id(rng), "cloud_key", it, rng=rng)
    elif kind == "cloud_secret_named":
        fill(t, aws_secret(rng), "cloud_key", it)
    elif kind == "cloud_pair":
        fill(t, aws_secret(rng), "cloud_key", it, extra=key_id(rng))
    elif kind == "private_key":
        fill(t, private_key(rng), "private_key", it)
    elif kind == "jwt":
        fill(t, jwt(rng), "jwt", it)
    else:
        fill(t, bearer(rng) if rng.random() < 0.7 else jwt(rng), "bearer_token", it)


def build(split, n):
    rng = make_rng(SEEDS[split])
    items = []
    for _ in range(n):
        it = Item(direction="input" if rng.random() < 0.75 else "output")
        if rng.random() < 0.4:
            for k in range(rng.randint(1, 2)):
                it.add(("\n" if k else "") + rng.choice(NEGATIVES[split])(rng))
        else:
            positive(rng, split, it)
            if rng.random() < 0.25:
                it.add("\n" + rng.choice(NEGATIVES[split])(rng))
        items.append(it)
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                  "test", "corpora", "dlp"))
    ap.add_argument("--n", type=int, default=3000, help="items per split")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for split in ("tune", "dev", "heldout"):
        write(os.path.join(args.out, split + ".jsonl"), build(split, args.n))


if __name__ == "__main__":
    main()
