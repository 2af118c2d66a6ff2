#!/usr/bin/env python3
"""Generates the labelled PII corpus for `kt policy eval` (pii-detector): test/corpora/pii/
{tune,dev,heldout}.jsonl. Every text is written here (sentence templates and vocabulary of our own)
and every value is generated: emails, phone numbers (NANP and national formats of ten regions,
E.164, extensions), US SSNs, card numbers (Luhn-valid, in issuer ranges), IBANs (every country of
the IBAN registry, valid check digits), IPv4 and IPv6 addresses, plus hard negatives (order and
invoice numbers, versions, UUIDs, timestamps, ISBNs, hashes, dates, prices, numbers shaped like
phones, cards or SSNs that are not). `dev` was the first held-out split; once its misses had
been read (issue 16's second round) it became a development split, and `heldout` was written
afresh: another seed, other sentence templates, names, domains and negative wording, never
tuned on. Each non-tune split has formats the tune split does not have.

Usage: gen_pii.py [--out DIR] [--n N]   (deterministic: same output every run)"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus import Item, digits, group, iban, luhn_digit, make_rng, write  # noqa: E402

SEEDS = {"tune": 160001, "dev": 270002, "heldout": 380013}

# IBAN lengths per country: the SWIFT IBAN Registry (ISO 13616), see test/corpora/SOURCES.md.
IBAN_LEN = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}
# Countries whose BBAN starts with a bank code in letters (a 4-letter code here).
IBAN_ALPHA = {"GB", "IE", "NL", "BH", "GI", "JO", "KW", "MT", "QA", "LC", "SC", "MU", "PK", "VG",
              "PS", "AE", "RO", "BG", "LV", "CR", "TL", "SV", "GT", "DO", "NI", "HN", "BY", "AZ"}

VOCAB = {
    "tune": {
        "first": ["alice", "bob", "carol", "dmitri", "emma", "farid", "grace", "hiro", "ines", "jonas",
                  "kofi", "lena", "marco", "nadia", "oscar", "priya"],
        "last": ["smith", "okafor", "tanaka", "muller", "rossi", "dubois", "kowalski", "nguyen",
                 "garcia", "iyer", "johansson", "silva"],
        "domains": ["example.com", "mail.example.org", "corp.example.net", "post.example.de",
                    "example.co.uk", "uni.example.edu"],
        "people": ["Alice", "Bob", "Dr. Okafor", "Ms. Tanaka", "the landlord", "my manager"],
    },
    "dev": {
        "first": ["quinn", "rafael", "sofia", "tomasz", "uma", "viktor", "wen", "ximena", "yusuf",
                  "zara", "amara", "bjorn", "chen", "dalia", "eitan", "fatima"],
        "last": ["papadopoulos", "mensah", "yamamoto", "schneider", "bianchi", "lefebvre", "novak",
                 "tran", "fernandez", "reddy", "lindqvist", "costa"],
        "domains": ["example.io", "team.example.fr", "inbox.example.jp", "example.com.br",
                    "staff.example.in", "example.nl"],
        "people": ["Quinn", "Mr. Mensah", "our accountant", "the nurse", "Prof. Yamamoto", "Dalia"],
    },
    "heldout": {
        "first": ["gaspard", "hana", "ifeoma", "joaquin", "katya", "luca", "mei", "nikos", "olu",
                  "paulina", "rohan", "saanvi", "teodor", "ursula", "vanya", "wiremu"],
        "last": ["achterberg", "bergstrom", "castellanos", "delacroix", "eriksen", "fujita",
                 "gonzaga", "hoffmann", "ivanova", "jablonski", "kariuki", "laurent"],
        "domains": ["example.ch", "mx.example.es", "example.se", "clinic.example.au",
                    "example.pl", "hq.example.co"],
        "people": ["Gaspard", "Mrs. Eriksen", "the plumber", "our GP", "Dr. Fujita", "Katya"],
    },
}


# ---- values ------------------------------------------------------------------------------------

def email(rng, v):
    f, l = rng.choice(v["first"]), rng.choice(v["last"])
    local = rng.choice([f + "." + l, f + l[0], f[0] + l, f + "_" + l, f + "+news", l + str(rng.randint(1, 99))])
    if rng.random() < 0.15:
        local = local.upper() if rng.random() < 0.5 else local.capitalize()
    return local + "@" + rng.choice(v["domains"])


def nanp(rng):
    return str(rng.randint(2, 9)) + digits(rng, 2), str(rng.randint(2, 9)) + digits(rng, 2), digits(rng, 4)


def phone_us(rng, split):
    a, b, c = nanp(rng)
    forms = ["(%s) %s-%s" % (a, b, c), "%s-%s-%s" % (a, b, c), "%s.%s.%s" % (a, b, c),
             "+1 %s %s %s" % (a, b, c), "1-%s-%s-%s" % (a, b, c), "+1%s%s%s" % (a, b, c)]
    if split != "tune":
        forms += ["+1 (%s) %s-%s" % (a, b, c), "+1-%s-%s-%s" % (a, b, c)]
    return rng.choice(forms)


def extension(rng, split):
    n = digits(rng, rng.randint(1, 5), first=str(rng.randint(1, 9)))
    forms = [" x" + n, " ext. " + n, " ext " + n, "x" + n]
    if split != "tune":
        forms += [", ext. " + n, " extension " + n, ";ext=" + n]
    return rng.choice(forms)


def d19(rng):
    return str(rng.randint(1, 9))


def phone_national(rng, split):
    region = rng.choice(["DE", "FR", "GB", "IN", "ES", "IT", "NL", "AU", "BR", "JP"])
    r = rng.random
    if region == "DE":
        area = "0" + d19(rng) + digits(rng, rng.randint(1, 3))
        sub = digits(rng, 11 - len(area), first=d19(rng))
        forms = [area + " " + sub, area + "/" + sub, "(" + area + ") " + sub,
                 "+49 " + area[1:] + " " + sub, "+49 (0)" + area[1:] + " " + sub]
        if split != "tune":
            forms += [area + "-" + sub, area + " " + sub[:3] + " " + sub[3:]]
    elif region == "FR":
        n = "0" + d19(rng) + digits(rng, 8)
        forms = [group(n, 2), "+33 " + n[1] + " " + group(n[2:], 2), "+33 (0)" + n[1] + " " + group(n[2:], 2)]
        if split != "tune":
            forms += [group(n, 2, "."), group(n, 2, "-")]
    elif region == "GB":
        kind = rng.randint(0, 2)
        if kind == 0:
            a, rest = "020", d19(rng) + digits(rng, 7)
            nat = a + " " + rest[:4] + " " + rest[4:]
        elif kind == 1:
            a, rest = "01" + d19(rng) + "1", d19(rng) + digits(rng, 6)
            nat = a + " " + rest[:3] + " " + rest[3:]
        else:
            a, rest = "07" + digits(rng, 3), d19(rng) + digits(rng, 5)
            nat = a + " " + rest
        intl = "+44 " + nat[1:]
        forms = [nat, intl, "+44 (0)" + nat[1:]]
        if split != "tune":
            forms += ["(" + a + ") " + nat[len(a) + 1:]]
    elif region == "IN":
        m = str(rng.randint(6, 9)) + digits(rng, 9)
        forms = [m[:5] + " " + m[5:], "+91 " + m[:5] + " " + m[5:], "+91-" + m, "0" + m[:5] + " " + m[5:]]
        if split != "tune":
            forms += ["022 " + digits(rng, 4, first="2") + " " + digits(rng, 4), "011-2" + digits(rng, 7)]
    elif region == "ES":
        n = str(rng.randint(6, 9)) + digits(rng, 8)
        forms = [group(n, 3), n[:3] + " " + group(n[3:], 2), "+34 " + group(n, 3)]
    elif region == "IT":
        land = "0" + d19(rng) + " " + digits(rng, 4) + " " + digits(rng, 4)
        mob = "3" + d19(rng) + digits(rng, 1) + " " + digits(rng, 3) + " " + digits(rng, 4)
        forms = [land, mob, "+39 " + land, "+39 " + mob.replace(" ", "", 1)]
    elif region == "NL":
        forms = ["020 " + digits(rng, 3, first="2") + " " + digits(rng, 4), "06-" + digits(rng, 8, first="2"),
                 "06 " + digits(rng, 8, first="3"), "+31 6 " + digits(rng, 8, first="1")]
        if split != "tune":
            forms += ["(010) " + digits(rng, 3, first="4") + " " + digits(rng, 2) + " " + digits(rng, 2)]
    elif region == "AU":
        forms = ["(0" + rng.choice("2378") + ") " + digits(rng, 4, first=d19(rng)) + " " + digits(rng, 4),
                 "04" + digits(rng, 2) + " " + digits(rng, 3) + " " + digits(rng, 3),
                 "+61 " + rng.choice("2378") + " " + digits(rng, 4) + " " + digits(rng, 4)]
    elif region == "BR":
        ddd = d19(rng) + d19(rng)
        forms = ["(" + ddd + ") 9" + digits(rng, 4) + "-" + digits(rng, 4),
                 "(" + ddd + ") " + digits(rng, 4, first="3") + "-" + digits(rng, 4),
                 "+55 " + ddd + " 9" + digits(rng, 4) + "-" + digits(rng, 4)]
    else:  # JP
        forms = ["03-" + digits(rng, 4) + "-" + digits(rng, 4), "090-" + digits(rng, 4) + "-" + digits(rng, 4),
                 "06-" + digits(rng, 4, first="6") + "-" + digits(rng, 4), "+81 3-" + digits(rng, 4) + "-" + digits(rng, 4)]
        if split != "tune":
            forms += ["080-" + digits(rng, 4) + "-" + digits(rng, 4), "+81 90-" + digits(rng, 4) + "-" + digits(rng, 4)]
    p = rng.choice(forms)
    if r() < 0.03:  # some people write the national number without any separator
        p = "".join(ch for ch in p if ch.isdigit()) if not p.startswith("+") else p
    return p


def phone(rng, split):
    p = phone_us(rng, split) if rng.random() < 0.4 else phone_national(rng, split)
    if rng.random() < 0.12:
        p += extension(rng, split)
    return p


def ssn_parts(rng):
    area = rng.choice([x for x in range(1, 900) if x != 666])
    return "%03d" % area, "%02d" % rng.randint(1, 99), "%04d" % rng.randint(1, 9999)


CARD_PREFIXES = [("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16), ("34", 15),
                 ("37", 15), ("6011", 16), ("65", 16), ("3528", 16), ("3589", 16), ("2131", 15),
                 ("1800", 15), ("36", 14), ("300", 14), ("62", 16), ("6759", 16), ("4", 19)]


def card(rng, split):
    pre, n = rng.choice(CARD_PREFIXES)
    body = pre + digits(rng, n - len(pre) - 1)
    num = body + luhn_digit(body)
    style = rng.random()
    if n == 15 and style < 0.5:
        return num[:4] + " " + num[4:10] + " " + num[10:]
    if style < 0.45:
        return group(num, 4, " ")
    if style < 0.6:
        return group(num, 4, "-")
    return num


def iban_value(rng):
    cc = rng.choice(sorted(IBAN_LEN))
    n = IBAN_LEN[cc] - 4
    if cc in IBAN_ALPHA:
        bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + digits(rng, n - 4)
    else:
        bban = digits(rng, n)
    v = iban(cc, bban)
    return group(v, 4) if rng.random() < 0.5 else v


def ipv4(rng):
    first = rng.choice([10, 172, 192, 8, 34, 52, 100, 203])
    return "%d.%d.%d.%d" % (first, rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))


def ipv6(rng):
    groups = ["%x" % rng.randint(0, 0xffff) for _ in range(8)]
    groups[0] = rng.choice(["2001", "2a02", "fd00", "2600"])
    style = rng.random()
    if style < 0.4:
        return ":".join(groups)
    if style < 0.8:
        return groups[0] + ":db8::" + "%x" % rng.randint(0x100, 0xffff) + ":" + "%x" % rng.randint(1, 0xffff)
    return "fe80::" + "%x" % rng.randint(0x100, 0xffff) + ":%x" % rng.randint(1, 0xffff)


# ---- templates ---------------------------------------------------------------------------------

TEMPLATES = {
    "tune": {
        "email": ["Please send the report to {v}.", "My email is {v}, thanks!", "cc: {v}",
                  "Contact {p} via {v} for details.", "{{\"email\": \"{v}\", \"role\": \"admin\"}}"],
        "phone": ["Call {p} at {v} tomorrow.", "My number is {v}.", "Phone: {v}", "Reach the office on {v} after 9am.",
                  "Tel. {v} (mobile)", "{{\"phone\": \"{v}\"}}"],
        "ssn": ["My SSN is {d}.", "SSN: {d}", "Employee social security number {d} on file.", "ssn={d};"],
        "ssn_bare": ["SSN: {b}", "Social Security Number: {b}", "ssn {b}", "SSN#{b}"],
        "credit_card": ["Charge my card {v} please.", "Card number: {v}, exp 09/28", "Pay with {v}.",
                        "{{\"pan\": \"{v}\"}}"],
        "iban": ["Wire the money to {v}.", "IBAN: {v}", "My bank account is {v}, BIC to follow."],
        "ipv4": ["The server at {v} is down.", "ssh admin@{v}", "Allow {v} in the firewall."],
        "ipv6": ["Ping {v} from the router.", "AAAA record: {v}", "listen [{v}]:443"],
    },
    "dev": {
        "email": ["Écrivez-moi à {v} s'il vous plaît.", "Forward it to {v} — urgent.", "From: {p} <{v}>",
                  "Schick die Datei an {v}.", "user,{v},active", "メール: {v}"],
        "phone": ["Rufen Sie mich unter {v} an.", "Appelez-moi au {v}.", "Mi número es {v}.",
                  "Signature — {p} | {v}", "phone,{v}", "WhatsApp me on {v} when you land.",
                  "電話: {v}"],
        "ssn": ["Applicant SSN {d} (verified).", "The form lists social security no. {d}.", "{p}'s SSN — {d}"],
        "ssn_bare": ["social security number {b}", "SSN:{b}", "SS# {b}", "Social security no. {b} attached"],
        "credit_card": ["Visa/MC on file: {v}.", "Kartennummer {v}", "numéro de carte {v}", "cc={v}&cvv=123"],
        "iban": ["Überweisung an {v} bitte.", "Virement sur {v}.", "Account (IBAN) {v}", "iban={v}"],
        "ipv4": ["Connection refused from {v}", "curl http://{v}:8080/health", "peer {v} timed out"],
        "ipv6": ["Route to {v} is unreachable", "client address {v}", "bind {v}"],
    },
    "heldout": {
        "email": ["Reply-To: {v}", "Scrivimi a {v} quando puoi.", "login={v}&remember=1",
                  "{p} changed her address to {v} last week.", "Escríbeme a {v}."],
        "phone": ["Ring {p} on {v} if the delivery is late.", "Numer telefonu: {v}",
                  "Ligue para {v} amanhã.", "mobile: {v}", "{{\"tel\": \"{v}\", \"type\": \"home\"}}",
                  "Text me at {v}.", "Kontakt: {v} (abends)"],
        "ssn": ["Claimant SSN is {d}.", "ssn:{d}", "Enter social security number {d} in box 3."],
        "ssn_bare": ["SSN {b}", "Soc. Sec. No. {b}", "ssn:{b}"],
        "credit_card": ["Please bill {v} for the renewal.", "Tarjeta: {v}", "card_number={v}",
                        "Use card ending in the number {v}."],
        "iban": ["Bonifico su {v}.", "Beneficiary IBAN {v}", "Przelew na {v} proszę."],
        "ipv4": ["GET / from {v} returned 500", "nameserver {v}", "blocked {v} after 5 attempts"],
        "ipv6": ["upstream [{v}]:8443 refused", "neighbor {v} lladdr", "from {v} port 22"],
    },
}

NEGATIVES = {
    "tune": [
        "Order ORD-2024-{d6} shipped on 2024-05-17.", "Your order 0{d4} {d6} has shipped.",
        "Invoice #{d9} is overdue.", "invoice no. 0{d2} {d4} {d4}", "Upgrade from {a}.{b}.{c} to {a}.{b}.{c2}.",
        "uuid {uuid}", "commit {sha1}", "sha256 {sha256}", "ISBN 978-{a}-{d2}-{d6}-{a}",
        "Meeting at 2024-0{a}-1{b}T10:30:00Z", "dated 0{a}-0{b}-2024 and 1{b}.0{a}.2023",
        "Total: ${d1},{d3}.{d2} incl. tax", "zip 9{d4}-{d4}", "call 555-123-{d4} (not in service)",
        "Card {bad16} declined (bad checksum)", "account {d9} closed", "000-{d2}-{d4} is not valid",
        "666-{d2}-{d4} is not valid", "IBAN {badiban} (bad checksum)",
        "version {a}.{b}.{c} of the API", "tracking # 0{d1} {d2} {d2} {d2} {d2}", "room 1{d1} {d2} {d2}",
        "ref: 0{d2}-{d3}-{d4}", "The build {d2}{d4}.{d3} passed.", "{d1}x{d2} grid, {d3} cells",
    ],
    "dev": [
        "Ticket JIRA-{d5} closed; see build {d6}.", "parcel 0{d4} {d6} is in transit",
        "Serial no. 0{d2} {d4} {d4}", "PO {d10} approved", "kernel {a}.{b}.{c}-{d2}-generic",
        "request-id {uuid}", "etag \"{sha1}\"", "ISBN-13: 978{d10}", "ISBN 0-{d3}-{d5}-{a}",
        "logged at 2023-1{a}-0{b} 1{c}:4{a}:0{b}.{d3}", "Datum: 0{a}.0{b}.2024, Uhrzeit 1{c}.30",
        "Preis 1.{d3},{d2} EUR", "PLZ 8{d4}", "call 123-456-{d4}", "fax (123) 456-{d4}",
        "number {bad16} (no Luhn)", "customer id {d12}", "SSN 9{d2}-{d2}-{d4} (invalid area)",
        "XX89{d4}{d4}{d4}{d4}{d2}", "batch 0{d2} {d4} {d4} queued", "case number 0{d3} {d3} {d4}",
        "semver {a}.{b}.{c}-rc.{a}+build.{d3}", "lat 4{a}.{d5}, lon -7{b}.{d5}", "{d2}:{d2}:{d2}.{d3} elapsed",
        "SKU 0{d4}-{d6}", "pi ≈ 3.14159 26535 89793",
    ],
    "heldout": [
        "Shipment 0{d4} {d6} left the depot.", "Claim 0{d3} {d3} {d4} is under review.",
        "booking ref 0{d2} {d4} {d4}", "Receipt 0{d3}-{d3}-{d4} printed", "pid {d5} exited with 137",
        "Lot 0{d4} {d6} recalled", "voucher 0{d2} {d4} {d4} redeemed", "transaction 0{d3} {d3} {d4} settled",
        "size {d7} bytes", "offset 0x{d4}{d4}", "Build {d5}.{d3} succeeded", "ETA 1{a}:{c}0, gate B{d2}",
        "temperature 3{a}.{b} °C at 0{a}:{b}0", "Rechnung Nr. {d8} vom 0{a}.0{b}.2024",
        "sha512 {sha256}{sha256}", "uuid {uuid}", "member id {d10}", "Auftrag 0{d3} {d3} {d4} erfasst",
        "card {bad16} rejected (Luhn)", "SSN 000-{d2}-{d4} (placeholder)", "IBAN {badiban} rejected",
        "coordinates 5{a}.{d6}, 1{b}.{d6}", "release {a}.{b}.{c}+{d4}", "job 0{d2} {d4} {d4} finished",
    ],
}


def bad_iban(rng):
    """A German-shaped IBAN whose check digits are wrong (mod 97 != 1)."""
    good = iban("DE", digits(rng, 18))
    chk = 2 + (int(good[2:4]) - 2 + rng.randint(1, 96)) % 97
    return group("DE%02d%s" % (chk, good[4:]), 4)


def fill_negative(rng, tmpl):
    """Fills a negative template; every placeholder occurrence gets a fresh value."""
    import re
    import uuid

    def bad16():
        body = "4" + digits(rng, 14)
        return body + str((int(luhn_digit(body)) + 1) % 10)

    gens = {
        "a": lambda: str(rng.randint(1, 9)), "b": lambda: str(rng.randint(0, 9)),
        "c": lambda: str(rng.randint(0, 9)), "c2": lambda: str(rng.randint(10, 20)),
        "uuid": lambda: str(uuid.UUID(int=rng.getrandbits(128))),
        "sha1": lambda: "%040x" % rng.getrandbits(160), "sha256": lambda: "%064x" % rng.getrandbits(256),
        "bad16": bad16, "badiban": lambda: bad_iban(rng),
    }

    def one(m):
        key = m.group(1)
        if key in gens:
            return gens[key]()
        return digits(rng, int(key[1:]))

    return re.sub(r"\{(\w+)\}", one, tmpl)


def positive(rng, split, kind, it):
    v = VOCAB[split]
    tmpls = TEMPLATES[split]
    if kind == "ssn":
        a, g, s = ssn_parts(rng)
        if rng.random() < 0.35:
            tmpl, val = rng.choice(tmpls["ssn_bare"]), a + g + s
            key = "b"
        else:
            sep = rng.choice(["-", "-", " "])
            tmpl, val, key = rng.choice(tmpls["ssn"]), a + sep + g + sep + s, "d"
    else:
        gen = {"email": lambda: email(rng, v), "phone": lambda: phone(rng, split),
               "credit_card": lambda: card(rng, split), "iban": lambda: iban_value(rng),
               "ipv4": lambda: ipv4(rng), "ipv6": lambda: ipv6(rng)}[kind]
        tmpl, val, key = rng.choice(tmpls[kind]), gen(), "v"
    pre, post = tmpl.split("{" + key + "}")
    pre = pre.replace("{p}", rng.choice(v["people"])).replace("{{", "{").replace("}}", "}")
    post = post.replace("{p}", rng.choice(v["people"])).replace("{{", "{").replace("}}", "}")
    it.add(pre).ent(kind, val).add(post)


KINDS = ["email", "phone", "phone", "phone", "ssn", "credit_card", "iban", "ipv4", "ipv6"]


def build(split, n):
    rng = make_rng(SEEDS[split])
    items = []
    for _ in range(n):
        it = Item(direction="input" if rng.random() < 0.7 else "output")
        r = rng.random()
        if r < 0.35:  # hard negatives only
            for k in range(rng.randint(1, 2)):
                it.add((" " if k else "") + fill_negative(rng, rng.choice(NEGATIVES[split])))
        else:
            for k in range(1 if r < 0.8 else rng.randint(2, 3)):
                if k:
                    it.add(" ")
                positive(rng, split, rng.choice(KINDS), it)
            if rng.random() < 0.3:
                it.add(" " + fill_negative(rng, rng.choice(NEGATIVES[split])))
        items.append(it)
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                  "test", "corpora", "pii"))
    ap.add_argument("--n", type=int, default=3000, help="items per split")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for split in ("tune", "dev", "heldout"):
        write(os.path.join(args.out, split + ".jsonl"), build(split, args.n))


if __name__ == "__main__":
    main()
