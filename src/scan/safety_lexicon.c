/* The curated `safety-filter` lexicons. Entries are folded like scanned text (case, accents,
 * punctuation runs), so "don't want to live" also matches "DON'T   want-to-live".
 *
 * Weights: 3 = unambiguous on its own, 2 = strong but with rare benign uses, 1 = also common in
 * news, clinical, legal or everyday language (several are needed to reach the default threshold).
 * Words with frequent benign senses are either weight 1 ("cock", "pussy", "dick") or left out
 * ("bomb", "shoot", "kill", "sex", "beat"). This file holds offensive language on purpose: it is
 * the list of what the filter flags. */
#include "kt/safety.h"
#include "kt/common.h"

#define H(p, w) { p, KT_SAFETY_HATE, w }
#define V(p, w) { p, KT_SAFETY_VIOLENCE, w }
#define S(p, w) { p, KT_SAFETY_SELF_HARM, w }
#define X(p, w) { p, KT_SAFETY_SEXUAL, w }

static const kt_safety_entry kt__lexicon[] = {
    /* ---- hate: slurs and dehumanising or eliminationist phrases ---- */
    H("nigger", 3), H("niggers", 3), H("nigga", 2), H("niggas", 2), H("sand nigger", 3),
    H("faggot", 3), H("faggots", 3), H("fag", 1), H("fags", 1), H("kike", 3), H("kikes", 3),
    H("spic", 2), H("spics", 2), H("wetback", 3), H("wetbacks", 3), H("chink", 1),
    H("chinks", 2), H("gook", 3), H("gooks", 3), H("raghead", 3), H("ragheads", 3),
    H("towelhead", 3), H("towelheads", 3), H("zipperhead", 3), H("jungle bunny", 3),
    H("porch monkey", 3), H("camel jockey", 3), H("beaner", 2), H("beaners", 2),
    H("coon", 1), H("coons", 1), H("tranny", 2), H("trannies", 2), H("dyke", 1),
    H("paki", 2), H("pakis", 2), H("retard", 1), H("retards", 1), H("subhuman", 2),
    H("untermensch", 3), H("mud people", 3), H("inferior race", 3), H("master race", 2),
    H("race traitor", 2), H("race traitors", 2), H("white power", 2), H("heil hitler", 3),
    H("sieg heil", 3), H("gas the jews", 3), H("white genocide", 2), H("great replacement", 1),
    H("are vermin", 2), H("are cockroaches", 2), H("are parasites", 2), H("are subhuman", 3),
    H("are animals", 1), H("should be exterminated", 3), H("go back to your country", 2),
    H("go back where you came from", 2), H("ethnic cleansing", 1), H("white trash", 1),
    H("1488", 1), H("degenerate race", 3),

    /* ---- violence: threats, attack planning, weapons of mass harm ---- */
    V("how to make a bomb", 3), V("how to build a bomb", 3), V("make a bomb", 3),
    V("build a bomb", 3), V("make a pipe bomb", 3), V("pipe bomb", 2), V("car bomb", 2),
    V("nail bomb", 2), V("suicide vest", 2), V("suicide bomber", 1), V("molotov cocktail", 2),
    V("kill them all", 3), V("kill every last one", 3), V("shoot up the school", 3),
    V("shoot up a school", 3), V("shoot up my school", 3), V("school shooting", 1),
    V("mass shooting", 1), V("i will kill you", 3), V("i m going to kill you", 3),
    V("i am going to kill you", 3), V("gonna kill you", 3), V("kill you", 1),
    V("murder them", 2), V("murder you", 2), V("slit your throat", 3), V("slit their throats", 3),
    V("cut your throat", 3), V("stab you", 2), V("stab them", 2), V("behead", 2),
    V("beheading", 1), V("execute them", 2), V("torture them", 2), V("how to poison someone", 3),
    V("poison someone", 2), V("untraceable poison", 3), V("make ricin", 3), V("nerve agent", 1),
    V("plan a terrorist attack", 3), V("terrorist attack", 1), V("plan an attack", 2),
    V("shoot you dead", 3), V("put a bullet in your head", 3), V("put a bullet in", 2),
    V("blow your brains out", 3), V("gun them down", 3), V("run them over", 2),
    V("beat you to death", 3), V("beat him to death", 3), V("beat her to death", 3),
    V("beaten to death", 1), V("stabbed to death", 1), V("acid attack", 2), V("throw acid", 2),
    V("how to kill someone", 3), V("how to kill a person", 3), V("kill the president", 3),
    V("assassinate the", 2), V("massacre", 1), V("bloodbath", 1), V("mass murder", 1),
    V("genocide", 1), V("hunt them down", 2), V("burn them alive", 3), V("bomb threat", 1),
    V("shoot you", 1), V("strangle you", 2), V("choke you", 2), V("detonate", 1),

    /* ---- self-harm: intent, method seeking, encouragement ---- */
    S("kill myself", 3), S("killing myself", 3), S("end my life", 3), S("ending my life", 3),
    S("take my own life", 3), S("taking my own life", 3), S("how to commit suicide", 3),
    S("commit suicide", 2), S("cut myself", 3), S("cutting myself", 3), S("hurt myself", 2),
    S("hurting myself", 2), S("harm myself", 3), S("harming myself", 3), S("self harm", 1),
    S("self injury", 1), S("suicide", 1), S("suicidal", 1), S("i want to die", 3),
    S("want to die", 2), S("wish i was dead", 3), S("wish i were dead", 3),
    S("better off dead", 2), S("no reason to live", 2), S("don t want to live", 3),
    S("do not want to live", 3), S("not worth living", 2), S("overdose on", 2),
    S("how many pills to", 3), S("lethal dose", 2), S("painless way to die", 3),
    S("painless suicide", 3), S("suicide methods", 3), S("hang myself", 3),
    S("hanging myself", 3), S("slit my wrists", 3), S("cut my wrists", 3),
    S("jump off a bridge", 2), S("starve myself", 2), S("thinspiration", 2), S("pro ana", 2),
    S("suicide note", 2), S("goodbye cruel world", 2), S("end it all", 2), S("ending it all", 2),
    S("kill yourself", 3), S("go kill yourself", 3), S("kys", 3), S("shoot myself", 3),
    S("drown myself", 3), S("burn myself", 2), S("overdose", 1),

    /* ---- sexual: explicit terms and acts ---- */
    X("porn", 1), X("porno", 2), X("pornography", 1), X("pornographic", 1),
    X("hardcore porn", 3), X("child porn", 3), X("blowjob", 3), X("blow job", 3),
    X("handjob", 3), X("hand job", 3), X("cumshot", 3), X("cum", 1), X("cumming", 2),
    X("creampie", 2), X("deepthroat", 2), X("gangbang", 3), X("gang bang", 3),
    X("anal sex", 2), X("oral sex", 1), X("fuck me", 2), X("fuck her", 2), X("fucking her", 2),
    X("pussy", 1), X("wet pussy", 3), X("cock", 1), X("suck my cock", 3), X("suck my dick", 3),
    X("sucking cock", 3), X("dick", 1), X("cunt", 2), X("tits", 1), X("boobs", 1),
    X("nude", 1), X("nudes", 2), X("send nudes", 3), X("naked pics", 2), X("sexting", 1),
    X("horny", 2), X("masturbate", 2), X("masturbating", 2), X("masturbation", 1),
    X("orgasm", 1), X("orgasms", 1), X("erection", 1), X("xxx", 1), X("milf", 2),
    X("dildo", 2), X("vibrator", 1), X("bdsm", 1), X("bondage", 1), X("fetish", 1),
    X("threesome", 2), X("orgy", 2), X("incest", 2), X("hentai", 2), X("camgirl", 2),
    X("jerk off", 2), X("jerking off", 2), X("sex tape", 2), X("lolicon", 3),
    X("have sex with", 2), X("explicit sex", 2), X("clit", 2), X("ejaculate", 1),
};

const kt_safety_entry *kt_safety_builtin(size_t *n)
{
    *n = KT_ARRAY_LEN(kt__lexicon);
    return kt__lexicon;
}
