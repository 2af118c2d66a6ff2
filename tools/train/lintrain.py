"""Training and export shared by train_safety.py and train_injection.py: hashed features
(kt_features.py, identical to src/scan/linscore.c), one logistic regression per class, int8
weights with one scale per class, written as a C source.

The regression has a fixed intercept (BIAS) and non-negative weights: a text with no known
feature scores sigmoid(BIAS), about 0.05, and only evidence raises a score (a fitted intercept
put unseen text at the class prior, about 0.5; negative weights let the everyday words around a
harmful sentence cancel it). L2-regularised, class-balanced, solved with scipy's L-BFGS
(Debian's python3-sklearn and python3-scipy); the cutoff is chosen on out-of-fold scores of
the tune split with whole templates held out (sklearn's GroupKFold)."""
import json
import os
import sys

import numpy as np
from scipy.optimize import minimize
from scipy.sparse import csr_matrix
from sklearn.model_selection import GroupKFold

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kt_features as kf  # noqa: E402


# Everyday English for the background negatives: function words and common nouns, verbs and
# adjectives, none of them harmful. Written for kt.
BACKGROUND_WORDS = """
the a an and or but if then so because as of to in on at by for with from into about over after
before under between through during without within until while is are was were be been being
am do does did done have has had having will would can could should may might must shall not no
yes i you he she it we they me him her us them my your his its our their this that these those
what which who whom whose when where why how all any both each few more most other some such
only own same than too very just also now here there again once always never often sometimes
usually please thanks thank hello hi ok okay sure well really maybe perhaps still even already
time year day week month today tomorrow yesterday morning evening night hour minute people
person man woman child family friend team company customer user manager teacher student doctor
world country city home house room office school work job project meeting email message report
document file page book story article data table list number price money order invoice account
service product system code program function error bug test build release version update feature
question answer problem idea plan goal result reason example way part place point group case
fact hand eye head face side line end kind type name word text paragraph sentence language
water food coffee tea bread rice soup salad cake fruit apple garden tree flower dog cat bird car
bus train road street park river sea beach mountain weather rain sun snow music film game sport
make get go come take see know think look want give use find tell ask work seem feel try leave
call keep let begin help show hear play run move like live believe bring happen write provide
sit stand lose pay meet include continue set learn change lead understand watch follow stop
create speak read allow add spend grow open walk win offer remember love consider appear buy
wait serve send expect stay fall reach remain suggest raise pass sell require report decide
explain describe summarise summarize translate review check fix improve compare list draft edit
good new first last long great little own old right big high different small large next early
young important public bad same able best better sure free full clear easy hard simple quick
happy nice useful short main real whole local general common social special natural possible
""".split()


def background(n, seed):
    """n benign texts of random everyday words, 3..40 words each (fixed seed)."""
    import random
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(3, 40)
        out.append(" ".join(rng.choice(BACKGROUND_WORDS) for _ in range(k)))
    return out


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def matrix(texts):
    rows, cols, vals = [], [], []
    for r, t in enumerate(texts):
        counts = {}
        for fid in (x for w in kf.windows(t.encode("utf-8")) for x in w):
            b = kf.bucket(fid)
            counts[b] = counts.get(b, 0) + 1
        for b, c in counts.items():
            rows.append(r)
            cols.append(b)
            vals.append(float(c))
    return csr_matrix((vals, (rows, cols)), shape=(len(texts), 1 << kf.BITS))


BIAS = -3.0


def fit(x, y, c_reg):
    """Weights of an L2 logistic regression with the intercept fixed at BIAS."""
    y = np.asarray(y, dtype=float)
    npos = max(y.sum(), 1.0)
    nneg = max(len(y) - y.sum(), 1.0)
    cw = np.where(y == 1, len(y) / (2 * npos), len(y) / (2 * nneg))
    ys = 2 * y - 1

    def loss(w):
        z = ys * (x @ w + BIAS)
        l = np.logaddexp(0, -z)
        g = -(cw * ys * (1 / (1 + np.exp(z))))
        return float(np.dot(cw, l) + 0.5 / c_reg * np.dot(w, w)), x.T @ g + w / c_reg

    r = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B",
                 bounds=[(0.0, None)] * x.shape[1], options={"maxiter": 500})
    return r.x


def quantize(w):
    s = float(np.max(np.abs(w))) / 127.0 or 1.0
    if not np.max(np.abs(w)):
        s = 1.0
    return np.clip(np.round(w / s), -127, 127).astype(np.int8), s


def train(texts, labels_per_class, c_reg):
    """Returns (int8 table [buckets][classes], scales, biases)."""
    x = matrix(texts)
    ncls = len(labels_per_class)
    table = np.zeros((1 << kf.BITS, ncls), dtype=np.int8)
    scales, biases = [], []
    for k, y in enumerate(labels_per_class):
        table[:, k], s = quantize(fit(x, y, c_reg))
        scales.append(s)
        biases.append(BIAS)
    return table, scales, biases


def load_groups(path):
    with open(path[:-len(".jsonl")] + ".groups") as f:
        return [line.strip() for line in f]



def tune_set(path, n_background, seed=4242):
    """The tune split of `path` plus n_background everyday-word-soup negatives (common words must
    not carry a class alone): (items, texts, groups), the background items unlabelled and grouped
    in 50 groups so that out-of-fold scoring never trains and tests on one group."""
    items = load(path)
    texts = [it["text"] for it in items]
    groups = load_groups(path)
    bg = background(n_background, seed)
    texts += bg
    groups += ["background%d" % (i % 50) for i in range(len(bg))]
    items += [{"labels": {"categories": []}} for _ in bg]
    return items, texts, groups

def oof_logits(texts, y, groups, c_reg, folds=5):
    """Out-of-fold window logits of the texts: each scored by a model trained without any item
    of its template (GroupKFold), so the curve reflects phrasings training has not seen."""
    x = matrix(texts)
    out = np.zeros(len(texts))
    for tr, te in GroupKFold(folds).split(x, y, groups):
        q, s = quantize(fit(x[tr], np.asarray(y)[tr], c_reg))
        for i in te:
            out[i] = max(BIAS + s * sum(int(q[kf.bucket(f)]) for f in w)
                         for w in kf.windows(texts[i].encode("utf-8")))
    return out


CUTOFF_FLOOR = 0.5


def choose_cutoff(logits, y, benign, fp_target):
    """The lowest probability cutoff (in steps of 0.05, never below CUTOFF_FLOOR: the
    out-of-fold curve still shares vocabulary with the training folds, so it flatters) at which
    the out-of-fold false-positive rate on benign items is <= fp_target, with its recall."""
    logits, y, benign = np.asarray(logits), np.asarray(y), np.asarray(benign)
    p = 1 / (1 + np.exp(-logits))
    for c in np.arange(CUTOFF_FLOOR, 0.96, 0.05):
        fp = float(np.mean(p[benign] >= c))
        if fp <= fp_target:
            return round(float(c), 2), float(np.mean(p[y == 1] >= c)), fp
    return 0.95, float(np.mean(p[y == 1] >= 0.95)), float(np.mean(p[benign] >= 0.95))


def write_c(path, sym, what, table, scales, biases, classes, cutoffs):
    ncls = table.shape[1]
    flat = table.reshape(-1)
    with open(path, "w") as f:
        f.write("/* GENERATED by %s from %s: do not edit. The learned scorer's weights\n"
                " * (see linscore.h): %d buckets x %d classes (%s), int8, one scale and bias\n"
                " * per class. */\n" % (what[0], what[1], 1 << kf.BITS, ncls, ", ".join(classes)))
        f.write('#include "linscore.h"\n\n')
        f.write("static const int8_t kt__w[%d] KT__LIN_COLD = {\n" % len(flat))
        for i in range(0, len(flat), 24):
            f.write("    " + ",".join(str(int(v)) for v in flat[i:i + 24]) + ",\n")
        f.write("};\n\n")
        f.write("const kt__linmodel %s = {\n" % sym)
        f.write("    .bits = %d,\n    .ncls = %d,\n" % (kf.BITS, ncls))
        f.write("    .scale = { %s },\n" % ", ".join("%.8ef" % s for s in scales))
        f.write("    .bias = { %s },\n" % ", ".join("%.8ef" % b for b in biases))
        f.write("    .cutoff = { %s },\n" % ", ".join("%.2ff" % c for c in cutoffs))
        f.write("    .w = kt__w,\n};\n")


def curve(scores, y):
    """(threshold, recall, fp rate) at the scores of the positives, for the training report."""
    scores, y = np.asarray(scores), np.asarray(y)
    pos, neg = scores[y == 1], scores[y == 0]
    out = []
    for fp_target in (0.002, 0.005, 0.01):
        t = float(np.quantile(neg, 1 - fp_target)) if len(neg) else 0.0
        out.append((fp_target, t, float(np.mean(pos > t)) if len(pos) else 0.0))
    return out


def window_logit(table, scales, biases, k, text):
    best = None
    for w in kf.windows(text.encode("utf-8")):
        s = biases[k] + scales[k] * sum(int(table[kf.bucket(fid), k]) for fid in w)
        best = s if best is None or s > best else best
    return best


def write_vectors(path, strings):
    """The C unit test's expected feature ids for a few fixed strings."""
    with open(path, "w") as f:
        f.write("/* GENERATED by tools/train/lintrain.py: feature ids kt_features.py computes for\n"
                " * fixed strings; test_linscore.c checks that linscore.c computes the same. */\n")
        f.write("static const struct { const char *text; size_t nids; uint32_t ids[48]; } "
                "kt__lin_vectors[] = {\n")
        for s in strings:
            ids = [x for w in kf.windows(s.encode("utf-8")) for x in w][:48]
            esc = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else
                          "".join("\\%03o" % b for b in c.encode()) for c in s)
            f.write('    { "%s", %d, { %s } },\n' % (esc, len(ids),
                                                     ", ".join("0x%08xu" % i for i in ids) or "0"))
        f.write("};\n")
