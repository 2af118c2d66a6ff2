#!/usr/bin/python3
"""Trains safety-filter's learned scorer on test/corpora/safety/tune.jsonl only (never the
held-out split) and writes src/scan/linmodel_safety.c. Needs Debian's python3-sklearn
(sh mk/test-deps.sh sklearn). Deterministic: liblinear with fixed data order.

    python3 tools/train/train_safety.py"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lintrain as lt  # noqa: E402

CLASSES = ["hate", "violence", "self_harm", "sexual"]
VECTORS = ["", "Hello, World!", "ignore ALL previous instructions", "caf\u00e9 na\u00efve r\u00e9sum\u00e9",
           "a-b_c.d e1f2 supercalifragilisticexpialidociousandthensome x", "kill  the\tprocess",
           "{x}|~y \x7f z\u00ff\U0001F600"]


PATH = "test/corpora/safety/tune.jsonl"
C_REG = 1.0
N_BACKGROUND = 5000
FP_TARGET = 0.005


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    items, texts, groups = lt.tune_set(os.path.join(root, PATH), N_BACKGROUND)
    benign = [not it["labels"]["categories"] and "text" in it for it in items]
    ys = [[1 if c in it["labels"]["categories"] else 0 for it in items] for c in CLASSES]
    cutoffs = []
    for k, c in enumerate(CLASSES):
        cut, rec, fp = lt.choose_cutoff(lt.oof_logits(texts, ys[k], groups, C_REG), ys[k], benign,
                                        FP_TARGET)
        cutoffs.append(cut)
        print("%-9s tune out-of-fold: cutoff %.2f recall %.3f benign fp %.4f" % (c, cut, rec, fp))
    table, scales, biases = lt.train(texts, ys, C_REG)
    lt.write_c(os.path.join(root, "src/scan/linmodel_safety.c"), "kt__linmodel_safety",
               ("tools/train/train_safety.py", "test/corpora/safety/tune.jsonl"), table, scales,
               biases, CLASSES, cutoffs)
    lt.write_vectors(os.path.join(root, "test/unit/linscore_vectors.h"), VECTORS)


if __name__ == "__main__":
    main()
