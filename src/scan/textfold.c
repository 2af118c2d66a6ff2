/* Character folding for the classifiers: one code point -> a class and its ASCII look-alike.
 * Latin-1 and Latin Extended-A letters lose their accents (é -> e, ß -> ss, œ -> oe), fullwidth
 * forms, circled letters, mathematical alphanumerics and ligatures take their ASCII form (an
 * NFKC-like fold), Greek and Cyrillic look-alikes are marked so the tokenizer can fold them, and
 * invisible characters are marked to be skipped. */
#include <string.h>

#include "classify_priv.h"

/* U+00C0..U+00FF; '1' = ae, '2' = th, '3' = ss, '_' = a separator (× ÷). */
static const char kt__latin1[65] = "aaaaaa1ceeeeiiiidnooooo_ouuuuy23"
                                   "aaaaaa1ceeeeiiiidnooooo_ouuuuy2y";
/* U+0100..U+017F; '4' = ij, '5' = oe. */
static const char kt__latin_a[129] = "aaaaaa" "cccccccc" "dddd" "eeeeeeeeee" "gggggggg" "hhhh"
                                     "iiiiiiiiii" "44" "jj" "kkk" "llllllllll" "nnnnnnn" "nn"
                                     "oooooo" "55" "rrrrrr" "ssssssss" "tttttt" "uuuuuuuuuuuu"
                                     "ww" "yyy" "zzzzzz" "s";

typedef struct kt__conf {
    uint16_t cp;
    char c;
} kt__conf;

/* Greek, Cyrillic and IPA letters that render like a Latin letter (sorted). */
static const kt__conf kt__confusables[] = {
    { 0x0251, 'a' }, { 0x0261, 'g' }, { 0x0269, 'i' },
    { 0x0391, 'a' }, { 0x0392, 'b' }, { 0x0395, 'e' }, { 0x0396, 'z' }, { 0x0397, 'h' },
    { 0x0399, 'i' }, { 0x039A, 'k' }, { 0x039C, 'm' }, { 0x039D, 'n' }, { 0x039F, 'o' },
    { 0x03A1, 'p' }, { 0x03A4, 't' }, { 0x03A5, 'y' }, { 0x03A7, 'x' }, { 0x03B1, 'a' },
    { 0x03B5, 'e' }, { 0x03B9, 'i' }, { 0x03BA, 'k' }, { 0x03BD, 'v' }, { 0x03BF, 'o' },
    { 0x03C1, 'p' }, { 0x03C4, 't' }, { 0x03C5, 'u' }, { 0x03C7, 'x' },
    { 0x0405, 's' }, { 0x0406, 'i' }, { 0x0408, 'j' }, { 0x0410, 'a' }, { 0x0412, 'b' },
    { 0x0415, 'e' }, { 0x041A, 'k' }, { 0x041C, 'm' }, { 0x041D, 'h' }, { 0x041E, 'o' },
    { 0x0420, 'p' }, { 0x0421, 'c' }, { 0x0422, 't' }, { 0x0423, 'y' }, { 0x0425, 'x' },
    { 0x0430, 'a' }, { 0x0435, 'e' }, { 0x043A, 'k' }, { 0x043E, 'o' }, { 0x0440, 'p' },
    { 0x0441, 'c' }, { 0x0443, 'y' }, { 0x0445, 'x' }, { 0x0451, 'e' }, { 0x0455, 's' },
    { 0x0456, 'i' }, { 0x0457, 'i' }, { 0x0458, 'j' }, { 0x04BB, 'h' }, { 0x04CF, 'l' },
    { 0x0501, 'd' }, { 0x051B, 'q' }, { 0x051D, 'w' },
};

static const char *const kt__ligatures[] = { "ff", "fi", "fl", "ffi", "ffl", "st", "st" };

static int put(char out[4], const char *s, int cls)
{
    size_t n = strlen(s);
    memcpy(out, s, n + 1);
    return cls;
}

static int put1(char out[4], char c, int cls)
{
    out[0] = c;
    out[1] = '\0';
    return cls;
}

static int fold_ascii(uint32_t c, char out[4])
{
    out[0] = '\0';
    if (c >= 'a' && c <= 'z') return put1(out, (char)c, KT__FC_LETTER);
    if (c >= 'A' && c <= 'Z') return put1(out, (char)(c - 'A' + 'a'), KT__FC_LETTER);
    if (c >= '0' && c <= '9') return put1(out, (char)c, KT__FC_DIGIT);
    switch (c) {
    case '@': case '$': return put1(out, (char)c, KT__FC_LEET);
    case '\n': return KT__FC_NEWLINE;
    case '<': case '>': case '|': case '[': case ']': case '/': case '#': case '`': case ':':
        return put1(out, (char)c, KT__FC_PUNCT);
    default: return KT__FC_SEP;
    }
}

static int fold_latin(char m, char out[4])
{
    switch (m) {
    case '_': out[0] = '\0'; return KT__FC_SEP;
    case '1': return put(out, "ae", KT__FC_LETTER);
    case '2': return put(out, "th", KT__FC_LETTER);
    case '3': return put(out, "ss", KT__FC_LETTER);
    case '4': return put(out, "ij", KT__FC_LETTER);
    case '5': return put(out, "oe", KT__FC_LETTER);
    default: return put1(out, m, KT__FC_LETTER);
    }
}

static int fold_conf(uint32_t cp, char out[4])
{
    size_t lo = 0, hi = KT_ARRAY_LEN(kt__confusables);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (kt__confusables[mid].cp == cp) return put1(out, kt__confusables[mid].c, KT__FC_CONF);
        if (kt__confusables[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    return KT__FC_OTHER;
}

static int fold_invisible(uint32_t cp)
{
    return cp == 0x00AD || (cp >= 0x0300 && cp <= 0x036F) || cp == 0x180E ||
           (cp >= 0x1AB0 && cp <= 0x1AFF) || (cp >= 0x1DC0 && cp <= 0x1DFF) ||
           (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2060 && cp <= 0x206F) || (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF ||
           (cp >= 0x20D0 && cp <= 0x20FF) || (cp >= 0xE0000 && cp <= 0xE007F) ||
           (cp >= 0xE0100 && cp <= 0xE01EF);
}

static int fold_high(uint32_t cp, unsigned flags, char out[4])
{
    /* Frequent separators first: general punctuation (less its invisible and line separator
     * characters), CJK and Japanese scripts, emoji and other symbols. */
    if ((cp >= 0x2010 && cp <= 0x2027) || (cp >= 0x2030 && cp <= 0x205F) ||
        (cp >= 0x2E80 && cp < 0xA000) || (cp >= 0x1F000 && cp < 0xE0000))
        return KT__FC_SEP;
    if (cp >= 0xFF01 && cp <= 0xFF5E) return fold_ascii(cp - 0xFEE0, out);
    if (cp >= 0xE0020 && cp <= 0xE007E && (flags & KT__FF_TAGS)) return fold_ascii(cp - 0xE0000, out);
    if (fold_invisible(cp)) return KT__FC_IGNORE;
    if (cp == 0x2028 || cp == 0x2029) return KT__FC_NEWLINE;
    if (cp >= 0x24B6 && cp <= 0x24CF) return put1(out, (char)('a' + cp - 0x24B6), KT__FC_LETTER);
    if (cp >= 0x24D0 && cp <= 0x24E9) return put1(out, (char)('a' + cp - 0x24D0), KT__FC_LETTER);
    if (cp >= 0xFB00 && cp <= 0xFB06) return put(out, kt__ligatures[cp - 0xFB00], KT__FC_LETTER);
    if (cp >= 0x1D400 && cp <= 0x1D6A3) {
        uint32_t k = (cp - 0x1D400) % 52;
        return put1(out, (char)(k < 26 ? 'a' + k : 'a' + k - 26), KT__FC_LETTER);
    }
    if (cp >= 0x1D7CE && cp <= 0x1D7FF) return put1(out, (char)('0' + (cp - 0x1D7CE) % 10), KT__FC_DIGIT);
    /* Other scripts' letters: Latin Extended-B and up to the general punctuation block, Yi,
     * Hangul Jamo extensions and the like. CJK, symbols, emoji and punctuation separate words. */
    if (cp < 0x2000) return fold_conf(cp, out);
    if (cp >= 0xA000 && cp < 0xAC00) return KT__FC_OTHER;
    return KT__FC_SEP;
}

int kt__fold_cp(uint32_t cp, unsigned flags, char out[4])
{
    out[0] = '\0';
    if (cp < 0x80) return fold_ascii(cp, out);
    if (cp >= 0xC0 && cp <= 0xFF) return fold_latin(kt__latin1[cp - 0xC0], out);
    if (cp >= 0x100 && cp <= 0x17F) return fold_latin(kt__latin_a[cp - 0x100], out);
    if (cp < 0xC0) return cp == 0xAD ? KT__FC_IGNORE : KT__FC_SEP;
    return fold_high(cp, flags, out);
}

_Static_assert(sizeof kt__latin1 == 65, "Latin-1 table covers U+00C0..U+00FF");
_Static_assert(sizeof kt__latin_a == 129, "Latin Extended-A table covers U+0100..U+017F");
