"""Shared helpers for the labelled-corpus generators (gen_pii.py, gen_dlp.py): building an item
from pieces with byte-offset entity spans, check digits (Luhn, ISO 7064 mod 97-10), and writing
the JSON-lines format `kt policy eval` reads. Python standard library only."""
import json
import random


class Item:
    """Text built piece by piece; entity spans are byte offsets into the UTF-8 text."""

    def __init__(self, direction="input"):
        self.parts = []
        self.size = 0
        self.entities = []
        self.categories = []
        self.direction = direction

    def add(self, text):
        self.parts.append(text)
        self.size += len(text.encode("utf-8"))
        return self

    def ent(self, typ, text):
        start = self.size
        self.add(text)
        self.entities.append({"type": typ, "start": start, "end": self.size})
        return self

    def line(self):
        obj = {"text": "".join(self.parts), "direction": self.direction,
               "labels": {"categories": self.categories, "entities": self.entities}}
        return json.dumps(obj, ensure_ascii=False, sort_keys=False)


def luhn_digit(body):
    """The check digit that makes body + digit Luhn-valid."""
    total = 0
    for k, ch in enumerate(reversed(body)):
        v = int(ch)
        if k % 2 == 0:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return str((10 - total % 10) % 10)


def luhn_ok(num):
    return luhn_digit(num[:-1]) == num[-1]


def iban(cc, bban):
    """cc + ISO 7064 mod 97-10 check digits + bban."""
    digits = "".join(str(int(c, 36)) for c in bban + cc + "00")
    return "%s%02d%s" % (cc, 98 - int(digits) % 97, bban)


def group(s, n, sep=" "):
    return sep.join(s[i:i + n] for i in range(0, len(s), n))


def digits(rng, n, first=None):
    s = "".join(rng.choice("0123456789") for _ in range(n))
    return (first + s[1:]) if first else s


def write(path, items):
    with open(path, "w", encoding="utf-8") as f:
        for it in items:
            f.write(it.line() + "\n")


def make_rng(seed):
    return random.Random(seed)
