"""Test PKI generated at test time with the `openssl` CLI (nothing is committed).

    pki = make_pki(tmpdir)
    pki.ca_cert          # PEM of the test CA; give it to kt as SSL_CERT_FILE
    pki.good_cert/key    # server cert for DNS:localhost, IP:127.0.0.1
    pki.wrong_cert/key   # server cert for DNS:wrong.example only (hostname check must fail)
    pki.other_ca_cert    # a second CA kt does NOT trust
    pki.untrusted_cert/key  # server cert for localhost, signed by other_ca (chain check must fail)

Usable as a script too: `python3 pki.py DIR` writes the files into DIR and prints their paths as JSON.
"""
import json
import os
import subprocess
import sys
import tempfile


class PKI:
    pass


def _run(args, cwd):
    subprocess.run(["openssl"] + args, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _ca(d, name, cn):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    _run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=" + cn,
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    return crt, key


def _leaf(d, name, cn, san, ca_crt, ca_key):
    key, csr, crt = (os.path.join(d, name + s) for s in (".key", ".csr", ".pem"))
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=" + san + "\n")
    _run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", key, "-out", csr, "-subj", "/CN=" + cn], d)
    _run(["x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
          "-out", crt, "-days", "2", "-sha256", "-extfile", ext], d)
    return crt, key


def make_pki(d=None):
    """Generate the whole test PKI into directory d (a fresh temp dir when None)."""
    d = d or tempfile.mkdtemp(prefix="kt-pki-")
    os.makedirs(d, exist_ok=True)
    p = PKI()
    p.dir = d
    p.ca_cert, p.ca_key = _ca(d, "ca", "kt test CA")
    p.good_cert, p.good_key = _leaf(d, "good", "localhost", "DNS:localhost,IP:127.0.0.1",
                                    p.ca_cert, p.ca_key)
    p.wrong_cert, p.wrong_key = _leaf(d, "wrong", "wrong.example", "DNS:wrong.example",
                                      p.ca_cert, p.ca_key)
    p.other_ca_cert, p.other_ca_key = _ca(d, "other-ca", "kt untrusted CA")
    p.untrusted_cert, p.untrusted_key = _leaf(d, "untrusted", "localhost",
                                              "DNS:localhost,IP:127.0.0.1",
                                              p.other_ca_cert, p.other_ca_key)
    return p


_shared = None


def shared_pki():
    """One PKI per test process (generation takes ~100 ms; no need to repeat it per test)."""
    global _shared
    if _shared is None:
        _shared = make_pki()
    return _shared


if __name__ == "__main__":
    pki = make_pki(sys.argv[1] if len(sys.argv) > 1 else None)
    print(json.dumps({k: v for k, v in vars(pki).items()}))
