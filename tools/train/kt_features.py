"""The learned scorers' feature hashing, bit for bit as src/scan/linscore.c computes it.

Text is read as bytes: ASCII letters fold to lower case; letters, digits and every byte >= 0x80
are word bytes, everything else separates words. A word longer than 32 bytes is hashed by its
first 32. Each word gives up to three features: the word, the pair (previous word, word) and, for
words longer than 4 bytes, its 4-byte prefix. A feature id is a 32-bit hash; its bucket is the low
KT_LIN_BITS bits. Scoring looks at windows of 64 words starting every 32 words and keeps the
highest-scoring window, so a short harmful passage inside a long text is not diluted."""

BITS = 16
WINDOW = 64
STEP = 32
WORD_MAX = 32
M32 = 0xFFFFFFFF


def fmix32(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    h ^= h >> 16
    return h


def fnv1a(bs):
    h = 0x811C9DC5
    for b in bs:
        h ^= b
        h = (h * 0x01000193) & M32
    return h


ID_DIGITS = 3   # a word with this many digits and a letter is an identifier (linscore.c)


def _is_word(b):
    return (48 <= b <= 57) or (97 <= b <= 122) or b >= 0x80


def words(data):
    """(start, end, folded bytes) of every word of the bytes."""
    out, i, n = [], 0, len(data)
    while i < n:
        b = data[i]
        if 65 <= b <= 90:
            b += 32
        if not _is_word(b):
            i += 1
            continue
        j, w = i, bytearray()
        while j < n:
            c = data[j]
            if 65 <= c <= 90:
                c += 32
            if not _is_word(c):
                break
            if len(w) < WORD_MAX:
                w.append(c)
            j += 1
        out.append((i, j, bytes(w)))
        i = j
    return out


def word_features(prev_h, w):
    """The 32-bit feature ids of word w (prev_h: the previous word's hash or None), and w's hash."""
    h = fnv1a(w)
    f = [fmix32(h ^ 0x9E3779B9)]
    if prev_h is not None:
        f.append(fmix32(((prev_h * 0x01000193) & M32) ^ h ^ 0x85EBCA6B))
    if len(w) > 4:
        f.append(fmix32(fnv1a(w[:4]) ^ 0xC2B2AE35))
    return f, h


def windows(data):
    """Lists of 32-bit feature ids, one list per window of the text (at least one)."""
    ws = [x for x in words(data)]
    feats, prev, kept = [], None, []
    for x in ws:
        w = x[2]
        digits = sum(48 <= c <= 57 for c in w)
        if digits >= ID_DIGITS and any(97 <= c <= 122 for c in w):
            prev = None   # an identifier, not language: no features, and the pair chain ends
            continue
        f, prev = word_features(prev, w)
        feats.append(f)
        kept.append(x)
    ws = kept
    if len(ws) <= WINDOW:
        return [[x for f in feats for x in f]]
    out = []
    for s in range(0, len(ws), STEP):
        out.append([x for f in feats[s:s + WINDOW] for x in f])
        if s + WINDOW >= len(ws):
            break
    return out


def bucket(fid):
    return fid & ((1 << BITS) - 1)
