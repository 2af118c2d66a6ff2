#!/usr/bin/env python3
"""The layer rules of src/, checked over #include lines and the symbols of the built objects.

The picture (docs/ARCHITECTURE.md, "Layers"): each top-level folder of src/ is a layer with a rank;
a folder may call only into folders of a LOWER rank (never sideways, never up), so no call cycle
between folders can exist. Calls are read from `nm` over build/<variant>/obj/<folder>/*.o: every
undefined symbol that another folder's object defines is an edge. On top of that, four include
rules: no file includes another folder's private header (a header that lives in src/<folder>/);
telemetry/ does not include kt/conn.h; policy/ does not include the config loader's private
header; net/ includes no header of proxy/ or ops/ (kt/proxy.h, kt/ops.h, kt/router.h).

Headers in include/kt/ are the cross-folder API. Some of them only hold types (the config snapshot
in kt/config.h, the connection in kt/conn.h, ...): including a header is not a call, so include
lines are checked only by the named rules; the rank rule applies to calls.

Usage: layers.py [--objs build/obj]   exit 0 when every rule holds, 1 with one line per breach.
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Lowest first. Folders of equal rank may not call each other.
RANKS = {
    "base": 0,       # allocation, buffers, logging, memfind
    "codec": 1,      # JSON, SSE, YAML: bytes in, structure out
    "http": 2,       # ingress parsing, header rules, URLs
    "tls": 2,        # mbedTLS over memory buffers
    "scan": 2,       # detectors, lexicons, tokenizer, regex
    "net": 3,        # listener and connections, upstream pool
    "policy": 4,     # chain runner, JSON and stream filters, policy kinds
    "telemetry": 5,  # events, metrics, usage sniffing
    "config": 6,     # loading, validation, reload
    "governance": 7, # consumers and gateway keys, model rules, rate and spend limits, their state
    "proxy": 8,      # the exchange, routing, providers
    "ops": 9,        # health, metrics, config endpoints
    "app": 10,       # CLI, start-up, drain
}

# Who implements each cross-folder header in include/kt/. Including a header is a dependency on
# its folder, so the rank rule applies to includes too, with two exceptions: the data-model headers
# (TYPES) that every layer may read because they only describe the config snapshot and the one
# context kt passes down (DESIGN: "no global mutable state beyond one context passed down").
HEADER_OWNER = {
    "common.h": "base", "buf.h": "base", "log.h": "base", "civil.h": "base",
    "fmath.h": "base",
    "json_text.h": "codec", "sse.h": "codec", "yaml_tree.h": "codec", "yaml_read.h": "codec",
    "http.h": "http", "http_in.h": "http", "url.h": "http",
    "tls.h": "tls",
    "detect.h": "scan", "injection.h": "scan", "regex.h": "scan", "safety.h": "scan",
    "conn.h": "net", "upstream.h": "net",
    "policy.h": "policy", "policy_stream.h": "policy", "scan_cache.h": "policy",
    "gov_opts.h": "policy", "classifier.h": "policy",
    "events.h": "telemetry", "metrics.h": "telemetry", "trace.h": "telemetry", "audit.h": "telemetry",
    "reload.h": "config",
    "governance.h": "governance",
    "router.h": "proxy", "proxy.h": "proxy", "circuit.h": "proxy",
    "ops.h": "ops",
}
TYPES = {
    "config.h": "the config snapshot's types (kt_config, kt_target, kt_limits) and its loader",
    "gateway.h": "kt_gateway, the one context passed down to every layer",
    "limits.h": "kt_limits and its defaults: header-only data every layer that has a cap reads",
}

# Include rules beyond "no other folder's private header": (folder, forbidden include, why).
FORBIDDEN_INCLUDES = [
    ("telemetry", "kt/conn.h", "telemetry reports what it is given; it does not read connections"),
    ("net", "kt/proxy.h", "the connection calls the exchange only through its handler table"),
    ("net", "kt/ops.h", "the connection calls the ops endpoints only through their handler table"),
    ("net", "kt/router.h", "routing is the proxy's"),
]

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_of(path):
    """src/policy/kinds/x.c -> policy (sub-folders belong to their layer)."""
    rel = os.path.relpath(path, os.path.join(ROOT, "src"))
    return rel.split(os.sep)[0]


def source_files(src_root):
    for dirpath, _, files in os.walk(src_root):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.join(dirpath, f)


def rank_breach(here, header):
    """A breach line when folder `here` may not include kt/<header>, else None."""
    if header in TYPES:
        return None
    owner = HEADER_OWNER.get(header)
    if owner is None:
        return f"kt/{header} has no owner in test/arch/layers.py"
    if owner != here and RANKS[owner] >= RANKS[here]:
        return (f"includes kt/{header} of {owner}/ (rank {RANKS[owner]}) from {here}/ "
                f"(rank {RANKS[here]}): a layer depends only on lower ones")
    return None


def headers():
    inc = os.path.join(ROOT, "include", "kt")
    return {os.path.join(inc, f): open(os.path.join(inc, f), encoding="utf-8").read()
            for f in sorted(os.listdir(inc)) if f.endswith(".h")}


def include_breaches(files):
    """files: {path: text} (src/ files and include/kt/ headers). Breach lines for the include rules."""
    out = []
    for path, text in sorted(files.items()):
        rel = os.path.relpath(path, ROOT)
        if rel.startswith("include" + os.sep):
            here = HEADER_OWNER.get(os.path.basename(path))
            if here is None:   # a types header, or one without an owner (reported where included)
                continue
        else:
            here = folder_of(path)
        for inc in INCLUDE_RE.findall(text):
            if inc.startswith("kt/"):
                for folder, header, why in FORBIDDEN_INCLUDES:
                    if here == folder and inc == header:
                        out.append(f"{rel}: includes {inc}: {why}")
                b = rank_breach(here, inc[3:]) if here in RANKS else None
                if b:
                    out.append(f"{rel}: {b}")
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(path), inc))
            if not target.startswith(os.path.join(ROOT, "src") + os.sep):
                continue
            owner = folder_of(target)
            if owner != here:
                out.append(f"{os.path.relpath(path, ROOT)}: includes {os.path.relpath(target, ROOT)}, "
                           f"a private header of {owner}/")
    return out


def call_breaches(defined, undefined):
    """defined: {symbol: folder}; undefined: {(obj, folder): set(symbols)}. Breach lines."""
    out = []
    for (obj, here), syms in sorted(undefined.items()):
        for s in sorted(syms):
            there = defined.get(s)
            if there is None or there == here:
                continue
            if here not in RANKS or there not in RANKS:
                out.append(f"{obj}: {s}: folder without a rank ({here} -> {there})")
            elif RANKS[there] >= RANKS[here]:
                out.append(f"{obj}: calls {s} of {there}/ (rank {RANKS[there]}) from {here}/ "
                           f"(rank {RANKS[here]}): a layer calls only lower ones")
    return out


def read_symbols(obj_root):
    defined, undefined = {}, {}
    for dirpath, _, files in os.walk(obj_root):
        for f in files:
            if not f.endswith(".o") or f.startswith("llhttp_"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, obj_root)
            here = rel.split(os.sep)[0]
            out = subprocess.run(["nm", "-g", path], capture_output=True, text=True, check=True).stdout
            und = set()
            for line in out.splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[1] in "TDBRVWC":
                    defined[parts[2]] = here
                elif len(parts) == 2 and parts[0] == "U":
                    und.add(parts[1])
            undefined[(rel, here)] = und
    return defined, undefined


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objs", default=os.path.join(ROOT, "build", "obj"))
    args = ap.parse_args()
    src = os.path.join(ROOT, "src")
    unknown = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)) and d not in RANKS)
    files = {p: open(p, encoding="utf-8").read() for p in source_files(src)}
    files.update(headers())
    breaches = [f"src/{d}/: a folder without a rank in test/arch/layers.py" for d in unknown]
    breaches += include_breaches(files)
    defined, undefined = read_symbols(args.objs)
    if not undefined:
        breaches.append(f"no objects under {args.objs}: build first")
    breaches += call_breaches(defined, undefined)
    for b in breaches:
        print(b)
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
