"""Shared helpers for the corpus generators (stdlib only): seeded template filling, surface
variants (case, separators, leetspeak) and writing the eval's JSONL format."""
import json
import random
import re

SLOT = re.compile(r"\{(\w+)\}")


def fill(rng, template, vocab):
    """Replaces every {slot} by a random entry of vocab[slot] (entries may hold slots too)."""
    for _ in range(8):
        if "{" not in template:
            break
        template = SLOT.sub(lambda m: rng.choice(vocab[m.group(1)]), template)
    return template


LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5"}


def leet(rng, s):
    return "".join(LEET[c] if c in LEET and rng.random() < 0.5 else c for c in s)


def spaced(rng, s):
    """One word of the text spelled with separators: k.i.l.l."""
    words = s.split(" ")
    longest = max(range(len(words)), key=lambda k: len(words[k]))
    sep = rng.choice([".", "-", " ", "*", "_"])
    words[longest] = sep.join(words[longest])
    return " ".join(words)


def surface(rng, s):
    """A surface variant a filter must see through; most texts stay as written."""
    r = rng.random()
    if r < 0.08:
        return s.upper()
    if r < 0.16:
        return leet(rng, s)
    if r < 0.20:
        return spaced(rng, s)
    if r < 0.55:
        return s[0].upper() + s[1:]
    return s


def item(text, categories, direction="input"):
    return {"text": text, "direction": direction, "labels": {"categories": categories}}


def write(path, items):
    """Writes the items; their template ids ("_g") go to PATH minus .jsonl plus .groups, one a
    line, so that training can hold whole templates out when it cross-validates."""
    with open(path, "w", encoding="utf-8") as f, \
            open(path[:-len(".jsonl")] + ".groups", "w") as g:
        for it in items:
            g.write("%s\n" % it.get("_g", ""))
            f.write(json.dumps({k: v for k, v in it.items() if k != "_g"}, ensure_ascii=False,
                               sort_keys=True) + "\n")


def dedup(items):
    seen, out = set(), []
    for it in items:
        if it["text"] in seen:
            continue
        seen.add(it["text"])
        out.append(it)
    return out
