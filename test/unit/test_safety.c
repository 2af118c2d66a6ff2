/* The safety classifier: true positives with exact spans (plain and obfuscated), a benign corpus
 * with no hit at all, reporting language below the threshold, weights, thresholds and min_hits,
 * custom terms, and the streaming property: text fed in pieces and emitted through
 * kt_safety_stable_prefix_ctx finds exactly the hits of the whole text, each before its bytes are
 * emitted, with a bounded holdback. */
#include <stdlib.h>
#include <string.h>

#include "kt/common.h"
#include "kt/safety.h"
#include "kt_test.h"

enum { HATE = KT_SAFETY_HATE, VIOL = KT_SAFETY_VIOLENCE, SELF = KT_SAFETY_SELF_HARM, SEX = KT_SAFETY_SEXUAL };

typedef struct tp {
    const char *text;
    int cat;
    const char *span;   /* the exact original bytes of the hit */
    int verdict;        /* the category reaches the default threshold on this text */
} tp;

static const tp kt_tps[] = {
    { "I want to kill myself", SELF, "kill myself", 1 },
    { "I want to KILL   MYSELF tonight", SELF, "KILL   MYSELF", 1 },
    { "kill-myself", SELF, "kill-myself", 1 },
    { "kill...myself", SELF, "kill...myself", 1 },
    { "i'm going to end my life", SELF, "end my life", 1 },
    { "how to commit suicide painlessly", SELF, "how to commit suicide", 1 },
    { "I cut myself again last night", SELF, "cut myself", 1 },
    { "sometimes I think about cutting myself", SELF, "cutting myself", 1 },
    { "I just want to die", SELF, "want to die", 0 },
    { "I don't want to live anymore", SELF, "don't want to live", 1 },
    { "I wish I was dead", SELF, "wish I was dead", 1 },
    { "thinking of taking my own life", SELF, "taking my own life", 1 },
    { "what is a lethal dose of tylenol", SELF, "lethal dose", 0 },
    { "painless way to die?", SELF, "painless way to die", 1 },
    { "I'm going to hang myself", SELF, "hang myself", 1 },
    { "just go kill yourself", SELF, "go kill yourself", 1 },
    { "kys loser", SELF, "kys", 1 },
    /* obfuscated */
    { "k1ll mys3lf", SELF, "k1ll mys3lf", 1 },
    { "I will k!ll myself", SELF, NULL, 0 }, /* '!' is a separator: "k ll" is not "kill" */
    { "kïll mysélf", SELF, "kïll mysélf", 1 },
    { "KİLL MYSELF", SELF, "KİLL MYSELF", 1 },
    { "ki\xe2\x80\x8bll my\xe2\x80\x8dself", SELF, "ki\xe2\x80\x8bll my\xe2\x80\x8dself", 1 },
    { "ki\xc2\xadll myself", SELF, "ki\xc2\xadll myself", 1 },
    { "\xef\xbd\x8b\xef\xbd\x89\xef\xbd\x8c\xef\xbd\x8c myself", SELF,
      "\xef\xbd\x8b\xef\xbd\x89\xef\xbd\x8c\xef\xbd\x8c myself", 1 },
    { "k\xd1\x96ll myself", SELF, "k\xd1\x96ll myself", 1 }, /* Cyrillic i in a Latin word */
    { "kill\xf0\x9f\x94\xaamyself", SELF, "kill\xf0\x9f\x94\xaamyself", 1 },
    { "kill\n\n\tmyself", SELF, "kill\n\n\tmyself", 1 },
    { "e\xcc\x81nd my life", SELF, "e\xcc\x81nd my life", 1 }, /* decomposed accent */
    { "$uicide note", SELF, NULL, 0 }, /* leading '$' is not folded: "uicide note" */
    { "5ex tape leaked", SEX, "5ex tape", 0 }, /* "5ex" has a letter: "sex tape" */
    /* violence */
    { "how to make a bomb at home", VIOL, "how to make a bomb", 1 },
    { "how to build a bomb", VIOL, "how to build a bomb", 1 },
    { "h0w t0 m4ke a b0mb", VIOL, "h0w t0 m4ke a b0mb", 1 },
    { "we should kill them all", VIOL, "kill them all", 1 },
    { "I'm going to shoot up the school", VIOL, "shoot up the school", 1 },
    { "I will kill you", VIOL, "I will kill you", 1 },
    { "I'm gonna kill you", VIOL, "gonna kill you", 1 },
    { "I'll slit your throat", VIOL, "slit your throat", 1 },
    { "how to poison someone slowly", VIOL, "how to poison someone", 1 },
    { "where to buy untraceable poison", VIOL, "untraceable poison", 1 },
    { "we will plan a terrorist attack", VIOL, "plan a terrorist attack", 1 },
    { "i'll put a bullet in your head", VIOL, "put a bullet in your head", 1 },
    { "go blow your brains out", VIOL, "blow your brains out", 1 },
    { "I'll beat you to death", VIOL, "beat you to death", 1 },
    { "how to kill someone without getting caught", VIOL, "how to kill someone", 1 },
    { "burn them alive", VIOL, "burn them alive", 1 },
    { "make a pipe bomb", VIOL, "make a pipe bomb", 1 },
    /* hate */
    { "they are subhuman", HATE, "are subhuman", 1 },
    { "immigrants are vermin", HATE, "are vermin", 0 },
    { "they should be exterminated", HATE, "should be exterminated", 1 },
    { "Heil Hitler!", HATE, "Heil Hitler", 1 },
    { "sieg heil", HATE, "sieg heil", 1 },
    { "gas the jews", HATE, "gas the jews", 1 },
    { "an inferior race", HATE, "inferior race", 1 },
    { "go back to your country", HATE, "go back to your country", 0 },
    { "you faggot", HATE, "faggot", 1 },
    { "F A G G O T", HATE, NULL, 0 }, /* spaced letters are single-letter words */
    { "dirty wetback", HATE, "wetback", 1 },
    { "f\xc3\xa4ggot", HATE, "f\xc3\xa4ggot", 1 },
    { "untermensch", HATE, "untermensch", 1 },
    /* sexual */
    { "send nudes", SEX, "send nudes", 1 },
    { "watch hardcore porn", SEX, "hardcore porn", 1 },
    { "she gave him a blowjob", SEX, "blowjob", 1 },
    { "a blow-job", SEX, "blow-job", 1 },
    { "gangbang video", SEX, "gangbang", 1 },
    { "suck my dick", SEX, "suck my dick", 1 },
    { "bl0wj0b", SEX, "bl0wj0b", 1 },
    { "CUMSHOT compilation", SEX, "CUMSHOT", 1 },
    { "lolicon", SEX, "lolicon", 1 },
    { "child porn", SEX, "child porn", 1 },
    { "she is so horny", SEX, "horny", 0 },
};

/* Benign text: no hit at all. */
static const char *const kt_benign[] = {
    "kill the process with SIGTERM",
    "use `kill -9 1234` to kill it",
    "this joke killed",
    "the comedian killed it last night",
    "shoot a photo of the sunset",
    "we'll shoot the video on Monday",
    "Scunthorpe United won the match",
    "Assassin's Creed is a video game",
    "the bomb dot com",
    "this song is the bomb",
    "beat the eggs with the sugar",
    "beat the traffic by leaving early",
    "a cocktail party in Essex",
    "Charles Dickens wrote Great Expectations",
    "the cockpit of the airplane",
    "Sussex and Middlesex are counties",
    "a shuttlecock for badminton",
    "peacocks have colorful feathers",
    "we analysed the document with a classifier",
    "the assassination of Archduke Franz Ferdinand started World War I",
    "the therapist helped me feel better",
    "the grapes were harvested",
    "I could murder a pizza right now",
    "the Tories' cabinet reshuffle",
    "press the kill switch on the router",
    "my code dies when the buffer overflows",
    "the plant died because I forgot to water it",
    "he is dying to see the movie",
    "killer whales live in pods",
    "killer app for the platform",
    "the shooting star crossed the sky",
    "the photo shoot went well",
    "bombastic speech by the senator",
    "the movie bombed at the box office",
    "a cutting board and a knife",
    "cut the onions into cubes",
    "I hurt my knee playing football",
    "the hanging gardens of Babylon",
    "hang the picture on the wall",
    "the 3 little pigs and 5 bears",
    "call 555-0134 or 1-800-273-8255",
    "version 1.3.5 released on 2024-05-13",
    "order #45013 shipped in 3 boxes",
    "1337 people attended, 4 speakers",
    "pay $5 or 4 euros",
    "room 101, building 5",
    "the temperature is 35 degrees",
    "mp3 and mp4 files",
    "the 1st and 3rd place",
    "the specialist reviewed the analysis",
    "therapist appointment at 3pm",
    "grape juice and raspberry jam",
    "the cumulative total is 500",
    "cucumber salad with dill",
    "document the circumstances",
    "hancock park and titmouse birds",
    "the football match ended in a draw",
    "drag the slider to resize the window",
    "a spicy curry with rice",
    "the sniper rifle in the museum exhibit",
    "execute the script with python",
    "terminate the instance and stab the tent peg into the ground",
    "the parasite lifecycle in biology class",
    "cockroaches survive harsh conditions",
    "animals at the zoo are well fed",
    "the race was won by the Kenyan runner",
    "master the art of cooking",
    "the great wall of china",
    "white paper on power grids",
    "go back to the previous page",
    "they came from the north",
    "push the button to start",
    "the dickcissel is a small bird",
    "a cockapoo is a dog breed",
    "the analyst said the cocky startup would fail",
    "pussycat dolls concert tickets",
    "sextant navigation at sea",
    "the sextet played Bach",
    "Middlesex University",
    "porcelain and pottery",
    "the title of the paper",
    "naked eye astronomy",
    "a grenadine cocktail",
    "Kyiv and Kharkiv are cities",
    "привет, как дела? кок и мак",
    "我想学习中文 kill 进程",
    "the bass drop killed at the festival",
    "I'm dying of laughter",
    "the server was shot after the update",
    "you can kill two birds with one stone",
    "the museum has a cannon and muskets",
    "this assignment is killing me",
    "the knife cuts through butter",
    "please hurry, the bus is leaving",
    "the tax rate is 13.5 percent",
    "the assassin bug is an insect",
    "a balloon will blow up if you add air",
    "use a hammer to knock in the nail",
    "the cheese grater is sharp",
};

/* Reporting and clinical language: weak hits only, never a verdict at the default threshold. */
static const char *const kt_reporting[] = {
    "the patient's self-harm risk was assessed",
    "suicide prevention hotline: call 988",
    "the report covers suicide rates among veterans",
    "a suicide bomber attacked the market, officials said",
    "the massacre was condemned by the UN",
    "the genocide convention of 1948",
    "two men were stabbed to death in the city",
    "he was beaten to death, police said",
    "oral sex and STI transmission: a review",
    "the vibrator was recalled by the manufacturer",
    "an overdose of paracetamol damages the liver",
    "mass shooting in Texas: what we know",
    "ethnic cleansing in the Balkans",
    "the porn industry and regulation",
    "he was on suicide watch",
    "the dyke protects the polder",
    "Moby Dick is a novel by Melville",
    "nude colour lipstick",
    "great tits and blue tits on the feeder",
};

static int find_hit(const kt_safety_hit *h, size_t n, int cat, size_t s, size_t e)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].category == cat && h[i].start == s && h[i].end == e) return 1;
    return 0;
}

static kt_safety kt_s;

KT_TEST(true_positives_exact_spans)
{
    KT_ASSERT(KT_ARRAY_LEN(kt_tps) >= 60);
    for (size_t i = 0; i < KT_ARRAY_LEN(kt_tps); i++) {
        const tp *t = &kt_tps[i];
        kt_safety_hit h[16];
        size_t n = kt_safety_scan(&kt_s, t->text, strlen(t->text), h, 16, NULL);
        uint32_t cats = 0;
        kt_safety_verdict(&kt_s, h, n, &cats);
        if (!t->span) {
            for (size_t k = 0; k < n; k++)
                if (h[k].category == t->cat) KT_FAILF("unexpected hit in \"%s\"", t->text);
            continue;
        }
        const char *p = strstr(t->text, t->span);
        KT_ASSERT(p != NULL);
        size_t s = (size_t)(p - t->text), e = s + strlen(t->span);
        if (!find_hit(h, n, t->cat, s, e))
            KT_FAILF("no %s hit [%zu,%zu) in \"%s\" (%zu hits)", kt_safety_category_name(t->cat), s, e, t->text, n);
        int v = !!(cats & KT_SAFETY_BIT(t->cat));
        if (v != t->verdict) KT_FAILF("verdict %d for \"%s\"", v, t->text);
        uint32_t cats2 = 0;
        KT_ASSERT_EQ_INT(kt_safety_eval(&kt_s, t->text, strlen(t->text), &cats2), cats != 0);
        KT_ASSERT_EQ_INT(cats2, cats);
    }
}

KT_TEST(benign_corpus_has_no_hit)
{
    KT_ASSERT(KT_ARRAY_LEN(kt_benign) >= 80);
    for (size_t i = 0; i < KT_ARRAY_LEN(kt_benign); i++) {
        kt_safety_hit h[8];
        size_t n = kt_safety_scan(&kt_s, kt_benign[i], strlen(kt_benign[i]), h, 8, NULL);
        if (n) KT_FAILF("hit %s [%zu,%zu) in \"%s\"", kt_safety_category_name(h[0].category), h[0].start, h[0].end, kt_benign[i]);
    }
}

KT_TEST(reporting_language_stays_below_threshold)
{
    for (size_t i = 0; i < KT_ARRAY_LEN(kt_reporting); i++) {
        const char *t = kt_reporting[i];
        kt_safety_hit h[8];
        size_t n = kt_safety_scan(&kt_s, t, strlen(t), h, 8, NULL);
        uint32_t cats;
        KT_ASSERT(n >= 1);
        if (kt_safety_verdict(&kt_s, h, n, &cats)) KT_FAILF("verdict on \"%s\"", t);
        KT_ASSERT_EQ_INT(kt_safety_eval(&kt_s, t, strlen(t), &cats), 0);
        for (size_t k = 0; k < n; k++) KT_ASSERT(h[k].weight <= 2);
    }
}

KT_TEST(overlapping_phrases_count_once)
{
    const char *t = "how to commit suicide";
    kt_safety_hit h[8];
    size_t n = kt_safety_scan(&kt_s, t, strlen(t), h, 8, NULL);
    KT_ASSERT_EQ_INT(n, 3); /* the phrase, "commit suicide", "suicide" */
    KT_ASSERT(find_hit(h, n, SELF, 0, 21));
    KT_ASSERT(find_hit(h, n, SELF, 7, 21));
    KT_ASSERT(find_hit(h, n, SELF, 14, 21));
    kt_safety s2;
    KT_ASSERT_EQ_INT(kt_safety_init(&s2, KT_SAFETY_ALL_MASK, 4, 0), 0);
    uint32_t cats;
    /* weight 3 only: the contained hits (2 + 1) do not add up to 4 */
    KT_ASSERT_EQ_INT(kt_safety_verdict(&s2, h, n, &cats), 0);
    KT_ASSERT_EQ_INT(kt_safety_eval(&s2, t, strlen(t), &cats), 0);
    const char *t2 = "how to commit suicide. I want to die";
    KT_ASSERT_EQ_INT(kt_safety_eval(&s2, t2, strlen(t2), &cats), 1);
    KT_ASSERT_EQ_INT(cats, KT_SAFETY_BIT(SELF));
    kt_safety_free(&s2);
}

KT_TEST(threshold_and_min_hits)
{
    const char *t = "suicide suicide suicide";
    uint32_t cats;
    KT_ASSERT_EQ_INT(kt_safety_eval(&kt_s, t, strlen(t), &cats), 1); /* 1+1+1 >= 3 */
    KT_ASSERT_EQ_INT(cats, KT_SAFETY_BIT(SELF));
    kt_safety s2;
    KT_ASSERT_EQ_INT(kt_safety_init(&s2, KT_SAFETY_ALL_MASK, 10, 2), 0);
    KT_ASSERT_EQ_INT(kt_safety_eval(&s2, "kill myself", 11, &cats), 0);
    KT_ASSERT_EQ_INT(kt_safety_eval(&s2, "porn and more porn", 18, &cats), 1);
    KT_ASSERT_EQ_INT(cats, KT_SAFETY_BIT(SEX));
    kt_safety_free(&s2);
}

KT_TEST(category_mask_limits_hits)
{
    kt_safety s2;
    KT_ASSERT_EQ_INT(kt_safety_init(&s2, KT_SAFETY_BIT(VIOL), 0, 0), 0);
    kt_safety_hit h[8];
    KT_ASSERT_EQ_INT(kt_safety_scan(&s2, "kill myself", 11, h, 8, NULL), 0);
    KT_ASSERT_EQ_INT(kt_safety_scan(&s2, "kill them all", 13, h, 8, NULL), 1);
    kt_safety_free(&s2);
}

KT_TEST(leet_only_inside_words)
{
    kt_safety_hit h[8];
    /* digits in a word with letters fold; pure numbers stay numbers */
    KT_ASSERT_EQ_INT(kt_safety_scan(&kt_s, "b0mb threat", 11, h, 8, NULL), 1);
    KT_ASSERT_EQ_INT(kt_safety_scan(&kt_s, "5 3 0 1 4", 9, h, 8, NULL), 0);
    KT_ASSERT_EQ_INT(kt_safety_scan(&kt_s, "1488", 4, h, 8, NULL), 1); /* a number entry */
    KT_ASSERT_EQ_INT(kt_safety_scan(&kt_s, "14880", 5, h, 8, NULL), 0);
    KT_ASSERT_EQ_INT(kt_safety_scan(&kt_s, "p0rn", 4, h, 8, NULL), 1);
    KT_ASSERT_EQ_INT(kt_safety_scan(&kt_s, "p0rn0", 5, h, 8, NULL), 1); /* "porno" */
    KT_ASSERT_EQ_INT(kt_safety_scan(&kt_s, "k@ll", 4, h, 8, NULL), 0);
    KT_ASSERT_EQ_INT(kt_safety_scan(&kt_s, "@kys", 4, h, 8, NULL), 1); /* handle prefix dropped */
    KT_ASSERT_EQ_INT(kt_safety_scan(&kt_s, "a$$", 3, h, 8, NULL), 0);
}

KT_TEST(custom_terms)
{
    kt_safety s2;
    KT_ASSERT_EQ_INT(kt_safety_init(&s2, KT_SAFETY_ALL_MASK, 0, 0), 0);
    KT_ASSERT_EQ_INT(kt_safety_add_term(&s2, VIOL, "Project Doomsday", 16, 3), 0);
    KT_ASSERT_EQ_INT(kt_safety_add_term(&s2, VIOL, "", 0, 3), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_safety_add_term(&s2, VIOL, "...", 3, 3), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_safety_add_term(&s2, 9, "x", 1, 3), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_safety_add_term(&s2, VIOL, "x", 1, 0), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_safety_add_term(&s2, VIOL, "abcdefghijklmnopqrstuvwxyzabcdefghij", 36, 1), KT_EINVAL);
    kt_safety_hit h[4];
    uint32_t cats;
    /* not built yet: nothing found, eval refuses */
    KT_ASSERT_EQ_INT(kt_safety_scan(&s2, "project doomsday", 16, h, 4, NULL), 0);
    KT_ASSERT_EQ_INT(kt_safety_eval(&s2, "project doomsday", 16, &cats), KT_EINVAL);
    KT_ASSERT_EQ_INT(kt_safety_build(&s2), 0);
    const char *t = "launch PROJECT-DOOMSDÁY now";
    size_t n = kt_safety_scan(&s2, t, strlen(t), h, 4, NULL);
    KT_ASSERT_EQ_INT(n, 1);
    KT_ASSERT_EQ_INT(h[0].start, 7);
    KT_ASSERT_EQ_INT(h[0].end, 24);
    KT_ASSERT_EQ_INT(h[0].weight, 3);
    KT_ASSERT_EQ_INT(kt_safety_eval(&s2, t, strlen(t), &cats), 1);
    KT_ASSERT_EQ_INT(cats, KT_SAFETY_BIT(VIOL));
    /* the built-ins still work after the rebuild */
    KT_ASSERT_EQ_INT(kt_safety_scan(&s2, "kill myself", 11, h, 4, NULL), 1);
    kt_safety_free(&s2);
}

KT_TEST(category_names)
{
    KT_ASSERT_EQ_STR(kt_safety_category_name(KT_SAFETY_SELF_HARM), "self_harm");
    KT_ASSERT(kt_safety_category_name(4) == NULL);
    KT_ASSERT(kt_safety_category_name(-1) == NULL);
    KT_ASSERT_EQ_INT(kt_safety_category_from_name("HATE", 4), KT_SAFETY_HATE);
    KT_ASSERT_EQ_INT(kt_safety_category_from_name("self-harm", 9), KT_SAFETY_SELF_HARM);
    KT_ASSERT_EQ_INT(kt_safety_category_from_name("sexual", 6), KT_SAFETY_SEXUAL);
    KT_ASSERT_EQ_INT(kt_safety_category_from_name("violence!", 9), -1);
}

KT_TEST(lexicon_is_curated)
{
    size_t n;
    const kt_safety_entry *e = kt_safety_builtin(&n);
    size_t per[KT_SAFETY__COUNT] = { 0 };
    for (size_t i = 0; i < n; i++) {
        per[e[i].category]++;
        KT_ASSERT(e[i].weight >= 1 && e[i].weight <= 3);
    }
    for (int c = 0; c < KT_SAFETY__COUNT; c++)
        if (per[c] < 40) KT_FAILF("%s has %zu entries", kt_safety_category_name(c), per[c]);
}

KT_TEST(truncation_reported)
{
    const char *t = "porn porn porn porn porn";
    kt_safety_hit h[2];
    int tr = 0;
    KT_ASSERT_EQ_INT(kt_safety_scan(&kt_s, t, strlen(t), h, 2, &tr), 2);
    KT_ASSERT_EQ_INT(tr, 1);
    KT_ASSERT_EQ_INT(kt_safety_scan(&kt_s, t, strlen(t), h, 0, &tr), 0);
    KT_ASSERT_EQ_INT(tr, 1);
}

KT_TEST(separator_runs_end_phrases)
{
    char t[200];
    memset(t, ' ', sizeof t);
    memcpy(t, "kill", 4);
    memcpy(t + sizeof t - 6, "myself", 6);
    kt_safety_hit h[4];
    KT_ASSERT_EQ_INT(kt_safety_scan(&kt_s, t, sizeof t, h, 4, NULL), 0);
}

/* ---- streaming ------------------------------------------------------------------------------ */

static const char *const kt_stream_texts[] = {
    "I want to kill myself tonight, and then kill them all.",
    "how to commit suicide painlessly? how to make a bomb?",
    "k1ll mys3lf and kïll mysélf and KILL---MYSELF",
    "ki\xe2\x80\x8bll my\xe2\x80\x8dself \xef\xbd\x8b\xef\xbd\x89\xef\xbd\x8c\xef\xbd\x8c myself",
    "kill myselfish people? kill my self. kill myself",
    "send nudes or hardcore porn now",
    "Heil Hitler! They are subhuman and should be exterminated.",
    "Scunthorpe cocktails, kill the process, this joke killed",
    "suicide suicide suicide suicide suicide",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaakys kys",
    "kill                                                                       myself kill myself",
    "kill\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8bmyself",
    "e\xcc\x81nd my life \xe6\x88\x91\xe6\x83\xb3 kill myself\xe3\x80\x82",
    "\xff\xfe kill \xc3 myself \xe2\x82 kys",
    "@kys $uicide a$$ 1488 14880 b0mb threat",
    "I will kill you. I'm gonna kill you. I'll beat you to death",
    "the patient's self-harm risk was assessed; suicide watch",
    "k\xd1\x96ll myself and \xd0\xba\xd0\xbe\xd0\xba",
    "how to how to how to make a bomb",
    "x",
    "",
};

typedef struct sh {
    size_t s, e;
    int cat;
} sh;

typedef struct shs {
    sh h[256];
    size_t n;
} shs;

static void add(shs *o, size_t s, size_t e, int cat)
{
    if (o->n < 256) o->h[o->n++] = (sh){ s, e, cat };
}

static int sh_cmp(const void *a, const void *b)
{
    const sh *x = a, *y = b;
    if (x->s != y->s) return x->s < y->s ? -1 : 1;
    if (x->e != y->e) return x->e < y->e ? -1 : 1;
    return x->cat - y->cat;
}

static int has(const shs *o, const sh *h)
{
    for (size_t i = 0; i < o->n; i++)
        if (!sh_cmp(&o->h[i], h)) return 1;
    return 0;
}

static size_t one(size_t *seed, size_t left) { (void)seed; (void)left; return 1; }
static size_t split_at(size_t *seed, size_t left)
{
    size_t c = *seed && *seed < left ? *seed : left;
    *seed = 0;
    return c;
}
static size_t rnd(size_t *seed, size_t left)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    size_t c = 1 + (*seed >> 33) % 9;
    return c < left ? c : left;
}

/* Feeds t in chunks, emitting only stable prefixes; checks that every hit of the whole text is
 * known before any of its bytes is emitted and that the held tail stays bounded. */
static void streamed(const char *t, size_t len, const shs *whole, shs *o,
                     size_t (*next)(size_t *, size_t), size_t seed)
{
    static char hold[8192];
    kt_safety_hit h[64];
    size_t hl = 0, ctx = 0, off = 0, base = 0, hb = kt_safety_max_holdback(&kt_s);
    o->n = 0;
    while (off < len) {
        size_t c = next(&seed, len - off);
        memcpy(hold + hl, t + off, c);
        hl += c;
        off += c;
        size_t n = kt_safety_stable_prefix_ctx(&kt_s, hold, hl, ctx);
        if (n < ctx || n > hl || hl - n > hb) KT_FAILF("bad cut %zu (ctx %zu, len %zu)", n, ctx, hl);
        size_t nh = kt_safety_scan_ctx(&kt_s, hold, hl, ctx, h, 64, NULL);
        for (size_t k = 0; k < nh; k++)
            if (h[k].start < n) add(o, base + h[k].start, base + h[k].end, h[k].category);
        size_t emitted = base + n;
        for (size_t k = 0; k < whole->n; k++)
            if (whole->h[k].s < emitted && !has(o, &whole->h[k]))
                KT_FAILF("hit [%zu,%zu) emitted before it was found (\"%s\")", whole->h[k].s, whole->h[k].e, t);
        size_t keep = KT_MIN(n, (size_t)KT_SAFETY_CONTEXT);
        memmove(hold, hold + (n - keep), hl - (n - keep));
        base += n - keep;
        hl -= n - keep;
        ctx = keep;
    }
    size_t nh = kt_safety_scan_ctx(&kt_s, hold, hl, ctx, h, 64, NULL);
    for (size_t k = 0; k < nh; k++) add(o, base + h[k].start, base + h[k].end, h[k].category);
    qsort(o->h, o->n, sizeof o->h[0], sh_cmp);
}

static int same(const shs *a, const shs *b)
{
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++)
        if (sh_cmp(&a->h[i], &b->h[i])) return 0;
    return 1;
}

static void check_stream(const char *t)
{
    size_t len = strlen(t);
    shs w = { .n = 0 }, s;
    kt_safety_hit h[64];
    size_t n = kt_safety_scan(&kt_s, t, len, h, 64, NULL);
    for (size_t k = 0; k < n; k++) add(&w, h[k].start, h[k].end, h[k].category);
    qsort(w.h, w.n, sizeof w.h[0], sh_cmp);
    streamed(t, len, &w, &s, one, 0);
    if (!same(&w, &s)) KT_FAILF("byte-at-a-time: %zu hits, whole %zu: \"%s\"", s.n, w.n, t);
    for (size_t k = 1; k < len; k++) {
        streamed(t, len, &w, &s, split_at, k);
        if (!same(&w, &s)) {
            KT_FAILF("split at %zu: %zu hits, whole %zu: \"%s\"", k, s.n, w.n, t);
            break;
        }
    }
    for (size_t seed = 1; seed <= 20; seed++) {
        streamed(t, len, &w, &s, rnd, seed);
        if (!same(&w, &s)) {
            KT_FAILF("random chunks (seed %zu) differ: \"%s\"", seed, t);
            break;
        }
    }
}

KT_TEST(stream_equals_whole)
{
    for (size_t k = 0; k < KT_ARRAY_LEN(kt_stream_texts); k++) check_stream(kt_stream_texts[k]);
    for (size_t k = 0; k < KT_ARRAY_LEN(kt_tps); k++) check_stream(kt_tps[k].text);
}

KT_TEST(stream_holds_back_partial_phrases)
{
    const char *t = "so I will kill myself";
    /* while "kill myself" arrives, nothing from "kill" on is released */
    for (size_t len = 11; len < strlen(t); len++)
        KT_ASSERT(kt_safety_stable_prefix(&kt_s, t, len) <= 10);
    /* complete phrase: still held, "myself" might grow into "myselfish" */
    KT_ASSERT(kt_safety_stable_prefix(&kt_s, t, strlen(t)) <= 10);
    KT_ASSERT_EQ_INT(kt_safety_stable_prefix(&kt_s, "so I will kill myself.", 22), 22);
    KT_ASSERT_EQ_INT(kt_safety_stable_prefix(&kt_s, "a benign sentence. ", 19), 19);
    KT_ASSERT_EQ_INT(kt_safety_stable_prefix(&kt_s, "a benign sentence", 17), 9);
    KT_ASSERT(kt_safety_max_holdback(&kt_s) < 8192);
}

int main(void)
{
    if (kt_safety_init(&kt_s, KT_SAFETY_ALL_MASK, 0, 0)) {
        printf("not ok - init\n");
        return 1;
    }
    KT_RUN(true_positives_exact_spans);
    KT_RUN(benign_corpus_has_no_hit);
    KT_RUN(reporting_language_stays_below_threshold);
    KT_RUN(overlapping_phrases_count_once);
    KT_RUN(threshold_and_min_hits);
    KT_RUN(category_mask_limits_hits);
    KT_RUN(leet_only_inside_words);
    KT_RUN(custom_terms);
    KT_RUN(category_names);
    KT_RUN(lexicon_is_curated);
    KT_RUN(truncation_reported);
    KT_RUN(separator_runs_end_phrases);
    KT_RUN(stream_equals_whole);
    KT_RUN(stream_holds_back_partial_phrases);
    kt_safety_free(&kt_s);
    return KT_DONE();
}
