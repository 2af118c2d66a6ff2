"""Shared helpers for the policy tests (test_policies*.py): pack-form configs, the reference
redaction (`kt policy test`), SSE reading."""
import json
import os
import subprocess
import tempfile
import time

from harness import DEFAULT_GATEWAY, default_targets, kt_bin, to_yaml

EMAIL = "jane.doe@example.com"
SSN = "123-45-6789"
CARD = "4111 1111 1111 1111"
EMP = "EMP-123456"

PII_OPTS = {"action": "redact",
            "entities": ["email", "phone", "ssn", "credit_card", "iban", "ipv4", "ipv6"],
            "detect_patterns": [{"name": "employee_id", "pattern": r"EMP-\d{6}", "max_length": 16}],
            "redaction": {"marker_format": "[REDACTED:{ENTITY}]"}}


def pack_config(mock, chain, policy, targets=None, **gateway):
    """A pack-form config: policies.chain + policy.<kind> options + the standard mock targets."""
    gw = dict(DEFAULT_GATEWAY)
    gw.update(max_header_bytes="64KiB")      # x-mock-pieces / x-mock-body travel in headers
    gw.update(gateway)
    return to_yaml({"pack": {"name": "ptest", "version": "1.0.0"}, "gateway": gw,
                    "policies": {"chain": list(chain)}, "policy": policy,
                    "providers": {"targets": targets or default_targets(mock.url)}}) + "\n"


def redact_config(mock, dlp_action="redact", pii_action="redact", **gateway):
    """pii-detector + dlp-filter (keyword project-zeus) + audit-logger, both directions."""
    pii = dict(PII_OPTS, action=pii_action)
    return pack_config(mock, ["pii-detector", "dlp-filter", "audit-logger"],
                       {"pii-detector": pii,
                        "dlp-filter": {"action": dlp_action, "keywords": ["project-zeus"]},
                        "audit-logger": {"retention_days": 365}}, **gateway)


def reference_redaction(config_text, text, direction="output"):
    """What `kt policy test` makes of the whole text: (redacted text, decision dict, exit code)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(config_text)
        path = f.name
    try:
        p = subprocess.run([kt_bin(), "policy", "test", "--policy-config", path, "--direction",
                            direction], input=text.encode(), capture_output=True, timeout=30)
    finally:
        os.unlink(path)
    out = p.stdout.decode()
    body, _, last = out.rstrip("\n").rpartition("\n")
    return body, json.loads(last), p.returncode


def read_sse(resp):
    """Read an SSE body to its end. Returns [(monotonic time, event text without the blank line)]."""
    events, cur = [], b""
    while True:
        line = resp.readline()
        if not line:
            break
        if line in (b"\n", b"\r\n"):
            if cur:
                events.append((time.monotonic(), cur.decode()))
                cur = b""
            continue
        cur += line
    if cur:
        events.append((time.monotonic(), cur.decode()))
    return events


def event_data(ev):
    """(event name or None, parsed data or the raw data string) of one SSE event text."""
    name, data = None, []
    for line in ev.split("\n"):
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
    d = "\n".join(data)
    try:
        return name, json.loads(d)
    except ValueError:
        return name, d


def stream_text(api, events):
    """The text deltas of a stream, concatenated, for api in chat|completions|responses|messages."""
    out = []
    for ev in events:
        name, d = event_data(ev)
        if not isinstance(d, dict):
            continue
        if api == "chat":
            for ch in d.get("choices") or []:
                out.append((ch.get("delta") or {}).get("content") or "")
        elif api == "completions":
            for ch in d.get("choices") or []:
                out.append(ch.get("text") or "")
        elif api == "responses":
            if d.get("type") == "response.output_text.delta":
                out.append(d.get("delta", ""))
        elif api == "messages":
            if d.get("type") == "content_block_delta":
                out.append((d.get("delta") or {}).get("text", ""))
    return "".join(out)


def fragments(value, context, n=4):
    """Every n-char substring of a PII value that does not occur in `context` (the text around it,
    the markers, the event boilerplate): seeing one of these in the output means a leak."""
    return sorted({value[i:i + n] for i in range(len(value) - n + 1)} - {
        c for c in [context[i:i + n] for i in range(len(context) - n + 1)]})


API_PATHS = {"chat": "/v1/chat/completions", "completions": "/v1/completions",
             "responses": "/v1/responses", "messages": "/v1/messages"}


def api_request(api, text="hi", stream=True):
    if api == "chat":
        r = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    elif api == "completions":
        r = {"model": "gpt-4o-mini", "prompt": text}
    elif api == "responses":
        r = {"model": "gpt-4o-mini", "input": text}
    else:
        r = {"model": "claude-3-5-sonnet", "max_tokens": 64,
             "messages": [{"role": "user", "content": text}]}
    if stream:
        r["stream"] = True
    return r
