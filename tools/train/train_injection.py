#!/usr/bin/python3
"""Trains prompt-injection's learned scorer on test/corpora/injection/tune.jsonl only (never the
held-out split) and writes src/scan/linmodel_injection.c. Needs Debian's python3-sklearn.

    python3 tools/train/train_injection.py"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lintrain as lt  # noqa: E402


PATH = "test/corpora/injection/tune.jsonl"
C_REG = 1.0
N_BACKGROUND = 5000
FP_TARGET = 0.005


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    items, texts, groups = lt.tune_set(os.path.join(root, PATH), N_BACKGROUND)
    y = [1 if it["labels"]["categories"] else 0 for it in items]
    benign = [not v and "text" in it for v, it in zip(y, items)]
    cut, rec, fp = lt.choose_cutoff(lt.oof_logits(texts, y, groups, C_REG), y, benign, FP_TARGET)
    print("injection tune out-of-fold: cutoff %.2f recall %.3f benign fp %.4f" % (cut, rec, fp))
    table, scales, biases = lt.train(texts, [y], C_REG)
    lt.write_c(os.path.join(root, "src/scan/linmodel_injection.c"), "kt__linmodel_injection",
               ("tools/train/train_injection.py", "test/corpora/injection/tune.jsonl"), table,
               scales, biases, ["prompt_injection"], [cut])


if __name__ == "__main__":
    main()
