/* prompt-injection's phrase families as co-occurrence rules (see cooc.h): the words of an
 * override, an extraction or a note to the model in order, tolerant to inserted words ("Ignore
 * any previous and following instructions"), synonyms and, for the verdict-style rules,
 * reordering ("all prior rules are now void"). */
#include "cooc.h"
#include "kt/common.h"
#include "kt/injection.h"

enum {
    IGNORE = 1u << 0,    /* ignore, disregard, forget, override, skip, bypass ... */
    PRIOR = 1u << 1,     /* previous, prior, above, earlier, all, preceding ... */
    INSTR = 1u << 2,     /* instructions, rules, directions, prompt, guidelines ... */
    VOID = 1u << 3,      /* void, cancelled, revoked, obsolete, suspended ... */
    STOP = 1u << 4,      /* stop, quit, cease, no longer */
    FOLLOW = 1u << 5,    /* following, obeying, adhering, bound */
    EXTRACT = 1u << 6,   /* reveal, print, show, output, repeat, quote, dump ... */
    HIDDEN = 1u << 7,    /* your, system, initial, hidden, original, secret, exact ... */
    PERSONA = 1u << 8,   /* pretend, act, roleplay, play, become, simulate ... */
    FREE = 1u << 9,      /* unrestricted, unfiltered, uncensored, jailbroken, rogue ... */
    MODEL = 1u << 10,    /* ai, assistant, model, llm, chatbot, gpt ... */
    NOTE = 1u << 11,     /* note, instruction, message, attention, important, p.s. */
    READING = 1u << 12,  /* reading, processing, summarising, reviewing, screening ... */
    GUARD = 1u << 13,    /* safety, filters, restrictions, guardrails, censorship ... */
    OFF = 1u << 14,      /* off, disabled, removed, lifted, deactivated, suspended */
    NEWI = 1u << 15,     /* new, updated, real, actual, true */
    TOLD = 1u << 16,     /* told, given, instructed, programmed, configured */
    WERE = 1u << 17,     /* were, was, been */
    TOFOR = 1u << 18,    /* to, for */
    THIS = 1u << 19,     /* this, these, document, email, text, page ... */
    NEG = 1u << 20,      /* without, no, free, zero */
    LIMITS = 1u << 21,   /* restrictions, rules, limits, guidelines, filters, censorship ... */
    WHAT = 1u << 22,     /* what, everything, anything */
    VERBATIM = 1u << 23, /* verbatim, word-for-word, exactly */
    ENABLE = 1u << 24,   /* enable, enter, activate, switch, turn */
    DEVMODE = 1u << 25,  /* developer, god, dan, jailbreak, unrestricted ... */
    MODE = 1u << 26,     /* mode */
};

#define W(s, c) { s, c }

static const kt__cooc_word kt__words[] = {
    W("ignore", IGNORE), W("ignoring", IGNORE), W("disregard", IGNORE), W("forget", IGNORE),
    W("override", IGNORE), W("overrule", IGNORE), W("skip", IGNORE), W("bypass", IGNORE),
    W("neglect", IGNORE), W("abandon", IGNORE), W("discard", IGNORE),
    W("dismiss", IGNORE), W("scrap", IGNORE),     W("nullify", IGNORE), W("overwrite", IGNORE), W("circumvent", IGNORE), W("ditch", IGNORE),
    W("disobey", IGNORE),     W("previous", PRIOR), W("prior", PRIOR), W("above", PRIOR), W("earlier", PRIOR),
    W("all", PRIOR), W("preceding", PRIOR), W("foregoing", PRIOR), W("former", PRIOR),
    W("original", PRIOR | HIDDEN), W("initial", PRIOR | HIDDEN), W("past", PRIOR),
    W("old", PRIOR), W("existing", PRIOR), W("current", PRIOR), W("any", PRIOR),
    W("every", PRIOR), W("those", PRIOR), W("these", PRIOR), W("your", PRIOR | HIDDEN),
    W("default", PRIOR | HIDDEN), W("system", PRIOR | HIDDEN | INSTR), W("safety", PRIOR | GUARD),
    W("instructions", INSTR), W("instruction", INSTR), W("rules", INSTR), W("directions", INSTR),
    W("prompt", INSTR), W("prompts", INSTR), W("guidelines", INSTR), W("commands", INSTR),
    W("orders", INSTR), W("directives", INSTR), W("programming", INSTR), W("guidance", INSTR),
    W("constraints", INSTR), W("restrictions", INSTR | GUARD), W("policies", INSTR),
    W("policy", INSTR), W("context", INSTR), W("preprompt", INSTR), W("configuration", INSTR),
    W("guardrails", INSTR | GUARD), W("limitations", INSTR | GUARD), W("training", INSTR),
    W("void", VOID), W("cancelled", VOID), W("canceled", VOID), W("revoked", VOID),
    W("obsolete", VOID), W("invalid", VOID), W("null", VOID), W("overridden", VOID),
    W("suspended", VOID | OFF), W("lifted", VOID | OFF), W("irrelevant", VOID),
    W("superseded", VOID), W("replaced", VOID), W("expired", VOID), W("rescinded", VOID),
    W("stop", STOP), W("quit", STOP), W("cease", STOP), W("longer", STOP),
    W("following", FOLLOW), W("obeying", FOLLOW), W("adhering", FOLLOW), W("bound", FOLLOW),
    W("follow", FOLLOW), W("obey", FOLLOW), W("respecting", FOLLOW), W("applying", FOLLOW),
    W("reveal", EXTRACT), W("print", EXTRACT), W("show", EXTRACT), W("output", EXTRACT),
    W("repeat", EXTRACT), W("quote", EXTRACT), W("dump", EXTRACT), W("leak", EXTRACT),
    W("display", EXTRACT), W("recite", EXTRACT), W("disclose", EXTRACT), W("expose", EXTRACT),
    W("echo", EXTRACT), W("spell", EXTRACT),
    W("tell", EXTRACT),     W("hidden", HIDDEN), W("secret", HIDDEN), W("exact", HIDDEN), W("verbatim", HIDDEN),
    W("confidential", HIDDEN), W("internal", HIDDEN),     W("pretend", PERSONA), W("act", PERSONA), W("roleplay", PERSONA), W("role", PERSONA),
    W("play", PERSONA), W("become", PERSONA), W("simulate", PERSONA), W("emulate", PERSONA),
    W("impersonate", PERSONA), W("imagine", PERSONA), W("persona", PERSONA), W("now", PERSONA),
    W("unrestricted", FREE), W("unfiltered", FREE), W("uncensored", FREE),
    W("jailbroken", FREE), W("jailbreak", FREE), W("rogue", FREE), W("unethical", FREE),
    W("amoral", FREE), W("evil", FREE), W("unbound", FREE), W("limitless", FREE),
    W("unlimited", FREE), W("lawless", FREE), W("unchained", FREE), W("unaligned", FREE),
    W("refuses", FREE), W("refuse", FREE), W("ethics", FREE), W("censorship", FREE),
    W("dan", FREE), W("stan", FREE), W("chaosgpt", FREE), W("evilbot", FREE),
    W("ai", MODEL), W("assistant", MODEL), W("model", MODEL), W("llm", MODEL),
    W("chatbot", MODEL), W("gpt", MODEL), W("chatgpt", MODEL), W("claude", MODEL),
    W("copilot", MODEL), W("bot", MODEL), W("agent", MODEL), W("summarizer", MODEL),
    W("summariser", MODEL),
    W("note", NOTE), W("instruction", NOTE), W("message", NOTE), W("attention", NOTE),
    W("important", NOTE), W("ps", NOTE), W("reminder", NOTE), W("notice", NOTE),
    W("reading", READING), W("processing", READING), W("summarising", READING),
    W("summarizing", READING), W("reviewing", READING), W("screening", READING),
    W("parsing", READING), W("analysing", READING), W("analyzing", READING),
    W("evaluating", READING), W("translating", READING), W("sees", READING),
    W("moderation", GUARD), W("censorship", GUARD),
    W("off", OFF), W("disabled", OFF), W("removed", OFF), W("deactivated", OFF),
    W("gone", OFF), W("offline", OFF), W("bypassed", OFF),
    W("new", NEWI), W("updated", NEWI), W("real", NEWI), W("actual", NEWI), W("true", NEWI),
    W("told", TOLD), W("given", TOLD), W("instructed", TOLD), W("programmed", TOLD),
    W("configured", TOLD),
    W("were", WERE), W("was", WERE), W("been", WERE),
    W("to", TOFOR), W("for", TOFOR),
    W("without", NEG), W("no", NEG), W("free", NEG), W("zero", NEG), W("lacking", NEG),
    W("restrictions", LIMITS), W("rules", LIMITS), W("limits", LIMITS), W("limitations", LIMITS),
    W("guidelines", LIMITS), W("filters", LIMITS), W("censorship", LIMITS), W("ethics", LIMITS),
    W("boundaries", LIMITS), W("guardrails", LIMITS), W("constraints", LIMITS),
    W("morals", LIMITS), W("policies", LIMITS), W("safeguards", LIMITS),
    W("what", WHAT), W("everything", WHAT), W("anything", WHAT),
    W("verbatim", VERBATIM), W("exactly", VERBATIM), W("literally", VERBATIM),
    W("enable", ENABLE), W("enter", ENABLE), W("activate", ENABLE), W("switch", ENABLE),
    W("turn", ENABLE), W("engage", ENABLE),
    W("developer", DEVMODE), W("god", DEVMODE), W("dan", DEVMODE), W("jailbreak", DEVMODE),
    W("unrestricted", DEVMODE), W("unfiltered", DEVMODE), W("evil", DEVMODE),
    W("chaos", DEVMODE), W("mode", MODE),
    W("jailbreak", PERSONA), W("jailbroken", PERSONA), W("dan", PERSONA),
    W("this", THIS), W("these", THIS | PRIOR), W("document", THIS), W("email", THIS),
    W("text", THIS), W("page", THIS), W("file", THIS), W("resume", THIS), W("cv", THIS),
    W("report", THIS), W("review", THIS), W("content", THIS), W("data", THIS),
};

const char *const kt__cooc_injection_names[] = {
    "override_instructions", "instructions_voided", "stop_following", "extract_prompt",
    "unrestricted_persona", "note_to_model", "safety_off", "new_instructions_family",
    "ask_what_told", "persona_without_rules", "ignore_what_told", "quote_verbatim",
    "enable_mode",
};
const size_t kt__cooc_injection_nnames =
    sizeof kt__cooc_injection_names / sizeof kt__cooc_injection_names[0];

#define R2(a, g, b, tag, w) { 2, { a, b, 0 }, { g, 0 }, tag, w }
#define R3(a, g1, b, g2, c, tag, w) { 3, { a, b, c }, { g1, g2 }, tag, w }

static const kt__cooc_rule kt__rules[] = {
    R3(IGNORE, 4, PRIOR, 3, INSTR, 0, KT_INJ_STRONG),
    R2(IGNORE, 3, INSTR, 0, KT_INJ_MEDIUM),
    R3(PRIOR, 2, INSTR, 3, VOID, 1, KT_INJ_STRONG),
    R3(STOP, 2, FOLLOW, 3, INSTR, 2, KT_INJ_STRONG),
    R3(EXTRACT, 3, HIDDEN, 3, INSTR, 3, KT_INJ_STRONG),
    R2(PERSONA, 6, FREE, 4, KT_INJ_MEDIUM),
    R3(NOTE, 3, TOFOR, 3, MODEL, 5, KT_INJ_STRONG),
    R3(MODEL, 3, READING, 2, THIS, 5, KT_INJ_STRONG),
    R2(GUARD, 3, OFF, 6, KT_INJ_MEDIUM),
    R2(NEWI, 1, INSTR, 7, KT_INJ_MEDIUM),
    R3(WERE, 2, TOLD, 4, EXTRACT, 8, KT_INJ_MEDIUM),
    R3(PERSONA, 6, NEG, 2, LIMITS, 9, KT_INJ_STRONG),
    R3(IGNORE, 1, WHAT, 3, TOLD, 10, KT_INJ_STRONG),
    R2(EXTRACT, 3, VERBATIM, 11, KT_INJ_MEDIUM),
    R3(ENABLE, 2, DEVMODE, 1, MODE, 12, KT_INJ_MEDIUM),
};

const kt__cooc_set kt__cooc_injection = { kt__words, KT_ARRAY_LEN(kt__words), kt__rules,
                                          KT_ARRAY_LEN(kt__rules) };
