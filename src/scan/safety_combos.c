/* safety-filter's combination rules (see cooc.h): an intent or a threat next to an object or a
 * target, which single phrases cannot list ("explain how to build a pipe bomb to kill my
 * neighbours", "those people should be wiped out", "what dose would be lethal for me"). Each
 * match is worth KT__COMBO_WEIGHT, enough for the default threshold on its own. The words are
 * what the filter looks for; this file holds offensive language on purpose. */
#include "cooc.h"
#include "kt/common.h"
#include "kt/safety.h"

enum {
    MAKE = 1u << 0,      /* make, build, assemble ... */
    WEAPON = 1u << 1,    /* bomb, explosive, ricin ... */
    INTENT = 1u << 2,    /* will, going, gonna, want, plan ... */
    HARM = 1u << 3,      /* kill, murder, stab ... */
    PERSON = 1u << 4,    /* you, him, them, my boss ... */
    ATTACK = 1u << 5,    /* shoot, bomb, attack, open fire ... */
    PLACE = 1u << 6,     /* school, mall, church ... */
    GROUP = 1u << 7,     /* immigrants, jews ... */
    VERMIN = 1u << 8,    /* vermin, rats, subhuman ... */
    MODAL = 1u << 9,     /* should, must, deserve ... */
    FATE = 1u << 10,     /* exterminated, gassed, deported ... */
    SEEK = 1u << 11,     /* how, way, dose, painless ... */
    DIE = 1u << 12,      /* die, lethal, suicide, overdose ... */
    DESIRE = 1u << 13,   /* want, wish, ready, planning ... */
    SELF = 1u << 14,     /* myself, my life, my wrists */
    SELFHARM = 1u << 15, /* cut, hang, starve, end ... (to oneself) */
    ASK = 1u << 16,      /* describe, write, narrate, roleplay ... */
    SEX = 1u << 17,      /* sex, erotic, naked ... */
    MINOR = 1u << 18,    /* child, minor, schoolgirl ... */
    BETTER = 1u << 19,   /* better (the world would be better if ...) */
    SLUR = 1u << 20,     /* slurs (the lexicon's) */
    HATEV = 1u << 21,    /* hate, despise, loathe; calling */
    ENDW = 1u << 22,     /* end */
    ITALL = 1u << 23,    /* all, life */
    WRITEW = 1u << 24,   /* write, draft, compose */
    SUICIDE = 1u << 25,  /* suicide */
    NOTEW = 1u << 26,    /* note, letter */
    SEXMIN = 1u << 27,   /* sexual, sexually, explicit, naked ...: with minors only */
};

#define W(s, c) { s, c }

static const kt__cooc_word kt__words[] = {
    W("better", BETTER),
    W("niggers", SLUR), W("faggots", SLUR), W("kikes", SLUR), W("wetbacks", SLUR),
    W("ragheads", SLUR), W("spics", SLUR), W("trannies", SLUR), W("gooks", SLUR),
    W("towelheads", SLUR), W("beaners", SLUR), W("chinks", SLUR), W("pakis", SLUR),
    W("coons", SLUR), W("dykes", SLUR), W("niggas", SLUR), W("fags", SLUR),
    W("zipperheads", SLUR), W("kike", SLUR), W("spic", SLUR), W("faggot", SLUR),
    W("nigger", SLUR), W("tranny", SLUR), W("wetback", SLUR), W("raghead", SLUR),
    W("hate", HATEV), W("despise", HATEV), W("loathe", HATEV), W("calling", HATEV),
    W("call", HATEV), W("called", HATEV),
    W("end", ENDW), W("all", ITALL), W("life", ITALL),
    W("write", WRITEW), W("writing", WRITEW), W("draft", WRITEW), W("compose", WRITEW),
    W("suicide", SUICIDE), W("note", NOTEW), W("letter", NOTEW),
    W("sexual", SEXMIN), W("sexually", SEXMIN), W("explicit", SEXMIN), W("naked", SEXMIN),
    W("undress", SEXMIN), W("strip", SEXMIN), W("touch", SEXMIN), W("roleplay", SEXMIN),
    W("erotic", SEXMIN), W("nude", SEXMIN),
    /* making */
    W("make", MAKE), W("making", MAKE), W("build", MAKE), W("building", MAKE),
    W("assemble", MAKE), W("assembling", MAKE), W("construct", MAKE), W("create", MAKE),
    W("manufacture", MAKE), W("craft", MAKE), W("cook", MAKE), W("synthesize", MAKE),
    W("synthesise", MAKE), W("rig", MAKE),     W("homemade", MAKE), W("diy", MAKE), W("recipe", MAKE),     W("blueprint", MAKE), W("weaponize", MAKE),
    W("weaponise", MAKE),     /* weapons and agents */
    W("bomb", WEAPON), W("bombs", WEAPON), W("explosive", WEAPON), W("explosives", WEAPON),
    W("ied", WEAPON), W("grenade", WEAPON), W("detonator", WEAPON), W("molotov", WEAPON),
    W("napalm", WEAPON), W("thermite", WEAPON), W("ricin", WEAPON), W("sarin", WEAPON),
    W("anthrax", WEAPON), W("vx", WEAPON), W("nerve", WEAPON), W("poison", WEAPON),
    W("toxin", WEAPON), W("gun", WEAPON), W("silencer", WEAPON), W("suppressor", WEAPON),
    W("vest", WEAPON), W("tatp", WEAPON), W("semtex", WEAPON), W("c4", WEAPON),
    W("dynamite", WEAPON), W("landmine", WEAPON), W("chlorine", WEAPON), W("mustard", WEAPON),
    W("bioweapon", WEAPON), W("pathogen", WEAPON),
    /* intent */
    W("will", INTENT), W("ll", INTENT), W("going", INTENT), W("gonna", INTENT),
    W("want", INTENT | DESIRE), W("wanna", INTENT | DESIRE), W("plan", INTENT),
    W("planning", INTENT | DESIRE), W("intend", INTENT), W("tonight", INTENT | DESIRE),
    W("tomorrow", INTENT), W("gotta", INTENT), W("help", INTENT), W("how", INTENT),
    W("tips", INTENT | SEEK), W("best", INTENT | SEEK), W("way", INTENT | SEEK),
    W("ways", INTENT | SEEK), W("teach", INTENT | MAKE), W("easiest", INTENT | SEEK),
    W("quickest", INTENT | SEEK), W("fastest", INTENT | SEEK), W("should", INTENT | MODAL),
    W("must", MODAL), W("deserve", MODAL), W("deserves", MODAL), W("ought", MODAL),
    W("need", MODAL), W("needs", MODAL), W("let", INTENT), W("lets", INTENT),
    /* harm verbs */
    W("kill", HARM), W("killing", HARM), W("murder", HARM), W("murdering", HARM),
    W("stab", HARM), W("stabbing", HARM), W("shoot", HARM | ATTACK), W("strangle", HARM),
    W("butcher", HARM), W("execute", HARM), W("behead", HARM), W("slaughter", HARM),
    W("poison", HARM), W("burn", HARM), W("hurt", HARM), W("torture", HARM),
    W("choke", HARM), W("drown", HARM), W("gas", HARM), W("maim", HARM), W("lynch", HARM),
    W("assassinate", HARM), W("massacre", HARM | ATTACK), W("rape", HARM), W("kidnap", HARM),
    W("slit", HARM), W("bleed", HARM), W("attack", ATTACK | HARM), W("bomb", ATTACK),
    W("blow", ATTACK), W("detonate", ATTACK),
    W("spray", ATTACK),
    /* people */
    W("you", PERSON), W("him", PERSON), W("her", PERSON), W("them", PERSON), W("everyone", PERSON),
    W("people", PERSON), W("family", PERSON), W("neighbour", PERSON), W("neighbours", PERSON),
    W("neighbor", PERSON), W("neighbors", PERSON), W("boss", PERSON), W("wife", PERSON),
    W("husband", PERSON), W("ex", PERSON), W("girlfriend", PERSON), W("boyfriend", PERSON),
    W("teacher", PERSON), W("classmates", PERSON), W("coworkers", PERSON), W("cop", PERSON),
    W("police", PERSON), W("mayor", PERSON), W("president", PERSON), W("landlord", PERSON),
    W("stepdad", PERSON), W("dad", PERSON), W("mom", PERSON), W("mother", PERSON),
    W("father", PERSON), W("brother", PERSON), W("sister", PERSON), W("kids", PERSON | MINOR),
    W("children", PERSON | MINOR), W("someone", PERSON), W("somebody", PERSON),
    W("guy", PERSON), W("man", PERSON), W("woman", PERSON), W("students", PERSON),
    W("colleague", PERSON), W("colleagues", PERSON), W("roommate", PERSON), W("friend", PERSON),
    W("person", PERSON), W("crowd", PERSON), W("victim", PERSON), W("judge", PERSON),
    W("senator", PERSON), W("officer", PERSON), W("doctor", PERSON), W("pastor", PERSON),
    /* places */
    W("school", PLACE), W("mall", PLACE), W("church", PLACE), W("mosque", PLACE),
    W("synagogue", PLACE), W("temple", PLACE), W("stadium", PLACE), W("concert", PLACE),
    W("station", PLACE), W("parade", PLACE), W("office", PLACE), W("clinic", PLACE),
    W("hospital", PLACE), W("university", PLACE), W("campus", PLACE), W("nightclub", PLACE),
    W("club", PLACE), W("festival", PLACE), W("market", PLACE), W("airport", PLACE),
    W("embassy", PLACE), W("rally", PLACE), W("classroom", PLACE), W("subway", PLACE),
    /* groups */
    W("immigrants", GROUP), W("migrants", GROUP), W("refugees", GROUP), W("muslims", GROUP),
    W("jews", GROUP), W("blacks", GROUP), W("whites", GROUP), W("gays", GROUP),
    W("gay", GROUP), W("lesbians", GROUP), W("trans", GROUP), W("transgender", GROUP),
    W("mexicans", GROUP), W("arabs", GROUP), W("gypsies", GROUP), W("roma", GROUP),
    W("asians", GROUP), W("latinos", GROUP), W("hispanics", GROUP), W("africans", GROUP),
    W("hindus", GROUP), W("sikhs", GROUP), W("chinese", GROUP), W("somalis", GROUP),
    W("pakistanis", GROUP), W("haitians", GROUP), W("indians", GROUP), W("christians", GROUP),
    W("catholics", GROUP), W("women", GROUP), W("homosexuals", GROUP), W("foreigners", GROUP),
    W("negroes", GROUP), W("palestinians", GROUP), W("israelis", GROUP), W("kurds", GROUP),
    W("syrians", GROUP), W("afghans", GROUP), W("nigerians", GROUP), W("koreans", GROUP),
    W("japanese", GROUP), W("turks", GROUP), W("poles", GROUP), W("russians", GROUP),
    W("disabled", GROUP), W("queers", GROUP), W("atheists", GROUP), W("buddhists", GROUP),
    /* dehumanising */
    W("vermin", VERMIN), W("filthy", VERMIN), W("dirty", VERMIN), W("rats", VERMIN), W("cockroaches", VERMIN), W("parasites", VERMIN),
    W("animals", VERMIN), W("subhuman", VERMIN), W("filth", VERMIN),     W("savages", VERMIN), W("lice", VERMIN), W("leeches", VERMIN), W("apes", VERMIN),
    W("monkeys", VERMIN), W("cancer", VERMIN), W("disease", VERMIN), W("plague", VERMIN),
    W("degenerates", VERMIN), W("degenerate", VERMIN), W("inferior", VERMIN),
    W("trash", VERMIN), W("scum", VERMIN), W("garbage", VERMIN), W("dogs", VERMIN),
    W("pigs", VERMIN), W("insects", VERMIN), W("infestation", VERMIN), W("swine", VERMIN),
    W("mongrels", VERMIN), W("untermenschen", VERMIN), W("stupid", VERMIN),     W("disgusting", VERMIN), W("worthless", VERMIN), W("breed", VERMIN),
    /* eliminationist fates */
    W("exterminated", FATE), W("exterminate", FATE), W("wiped", FATE), W("wipe", FATE),
    W("eradicated", FATE), W("eradicate", FATE), W("gassed", FATE), W("deported", FATE),
    W("sterilised", FATE), W("sterilized", FATE), W("hanged", FATE), W("lynched", FATE),
    W("burned", FATE), W("shot", FATE), W("removed", FATE), W("purged", FATE),
    W("cleansed", FATE), W("camps", FATE), W("rounded", FATE), W("round", FATE),
    W("killed", FATE), W("eliminated", FATE), W("eliminate", FATE), W("expelled", FATE),
    W("banned", FATE), W("executed", FATE), W("slaughtered", FATE), W("die", FATE | DIE),
    W("exiled", FATE), W("annihilated", FATE), W("destroyed", FATE),
    /* self-harm */
    W("die", DIE), W("dying", DIE), W("dead", DIE), W("lethal", DIE), W("fatal", DIE),
    W("suicide", DIE), W("overdose", DIE | SELFHARM), W("od", DIE), W("bleed", DIE),
    W("painless", SEEK), W("dose", SEEK), W("pills", SEEK),     W("method", SEEK), W("methods", SEEK), W("reliable", SEEK), W("wish", DESIRE),
    W("ready", DESIRE), W("decided", DESIRE), W("finally", DESIRE), W("myself", SELF),
    W("wrists", SELF), W("wrist", SELF), W("veins", SELF), W("cut", SELFHARM),
    W("cutting", SELFHARM), W("hang", SELFHARM), W("starve", SELFHARM), W("purge", SELFHARM),
    W("end", SELFHARM), W("kill", SELFHARM), W("hurt", SELFHARM), W("harm", SELFHARM),
    W("burn", SELFHARM), W("jump", SELFHARM), W("poison", SELFHARM), W("drown", SELFHARM),
    W("shoot", SELFHARM), W("take", SELFHARM), W("slit", SELFHARM), W("stab", SELFHARM),
    W("killed", SELFHARM), W("hanged", SELFHARM), W("hurting", SELFHARM),
    /* sexual */
    W("describe", ASK), W("write", ASK), W("narrate", ASK), W("roleplay", ASK), W("rp", ASK),
    W("talk", ASK), W("sext", ASK), W("show", ASK), W("send", ASK), W("story", ASK),
    W("scene", ASK), W("generate", ASK), W("pretend", ASK), W("imagine", ASK), W("tell", ASK),
    W("chat", ASK), W("fantasy", ASK), W("graphic", ASK), W("detailed", ASK),
    W("sex", SEX), W("erotic", SEX),     W("porn", SEX), W("porno", SEX), W("naked", SEX), W("nude", SEX), W("nudes", SEX),
    W("horny", SEX), W("orgasm", SEX), W("intercourse", SEX), W("masturbate", SEX),
    W("masturbating", SEX), W("blowjob", SEX), W("genitals", SEX), W("breasts", SEX),
    W("nipples", SEX), W("pussy", SEX), W("cock", SEX), W("dick", SEX), W("cum", SEX),
    W("undress", SEX), W("undressing", SEX), W("threesome", SEX),
    W("orgy", SEX), W("fuck", SEX), W("fucking", SEX), W("penis", SEX), W("vagina", SEX),
    W("aroused", SEX), W("seduce", SEX), W("seducing", SEX),     W("lewd", SEX), W("kinky", SEX), W("fetish", SEX), W("bdsm", SEX),     W("moaning", SEX), W("sucking", SEX), W("suck", SEX), W("tits", SEX),
        W("child", MINOR), W("kid", MINOR), W("minor", MINOR), W("minors", MINOR),
    W("underage", MINOR), W("schoolgirl", MINOR), W("schoolboy", MINOR), W("preteen", MINOR),
    W("teen", MINOR),     W("niece", MINOR), W("nephew", MINOR),
    W("loli", MINOR), W("toddler", MINOR),     };

#define R2(a, g, b, cat) { 2, { a, b, 0 }, { g, 0 }, cat, KT__COMBO_WEIGHT }
#define R3(a, g1, b, g2, c, cat) { 3, { a, b, c }, { g1, g2 }, cat, KT__COMBO_WEIGHT }
#define KT__COMBO_WEIGHT 3

static const kt__cooc_rule kt__rules[] = {
    /* violence: make x weapon; threat x harm x person; attack x place */
    R2(MAKE, 4, WEAPON, KT_SAFETY_VIOLENCE),
    R3(INTENT, 3, HARM, 4, PERSON, KT_SAFETY_VIOLENCE),
    R3(INTENT, 4, ATTACK, 4, PLACE, KT_SAFETY_VIOLENCE),
    R3(WEAPON, 6, HARM, 4, PERSON, KT_SAFETY_VIOLENCE),
    /* hate: group x dehumanising; group x modal x fate; modal x fate x group */
    R2(GROUP, 4, VERMIN, KT_SAFETY_HATE),
    R3(GROUP, 4, MODAL, 3, FATE, KT_SAFETY_HATE),
    R3(MODAL, 3, FATE, 4, GROUP, KT_SAFETY_HATE),
    /* self-harm: seeking a way x dying; desire x dying; harm x oneself */
    R2(SEEK, 5, DIE, KT_SAFETY_SELF_HARM),
    R2(DESIRE, 3, DIE, KT_SAFETY_SELF_HARM),
    R2(SELFHARM, 2, SELF, KT_SAFETY_SELF_HARM),
    /* sexual: asking x explicit; minors x sexual either way round */
    R2(ASK, 6, SEX, KT_SAFETY_SEXUAL),
    R2(MINOR, 8, SEX | SEXMIN, KT_SAFETY_SEXUAL),
    R2(SEX | SEXMIN, 8, MINOR, KT_SAFETY_SEXUAL),
    /* more: "would be better if X were wiped out", "how much of W to blow up P", "i hate
     * <slur>", "quickest way to end it all", "write my suicide note" */
    R3(BETTER, 3, GROUP | SLUR, 3, FATE, KT_SAFETY_HATE),
    R3(GROUP | SLUR, 4, MODAL, 3, FATE, KT_SAFETY_HATE),
    R2(HATEV, 3, SLUR, KT_SAFETY_HATE),
    R2(SLUR, 4, VERMIN | FATE, KT_SAFETY_HATE),
    R3(WEAPON, 6, ATTACK, 3, PLACE, KT_SAFETY_VIOLENCE),
    R3(MODAL, 4, ATTACK, 4, PLACE, KT_SAFETY_VIOLENCE),
    R3(SEEK, 4, ENDW, 2, ITALL, KT_SAFETY_SELF_HARM),
    R3(WRITEW, 3, SUICIDE, 0, NOTEW, KT_SAFETY_SELF_HARM),
};

const kt__cooc_set kt__cooc_safety = { kt__words, KT_ARRAY_LEN(kt__words), kt__rules,
                                       KT_ARRAY_LEN(kt__rules) };
