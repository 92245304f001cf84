
/*
 * Copyright (C) ngx_llm_router authors
 */


#include <pthread.h>
#include <string.h>

#include "llmr_features.h"
#include "llmr_vocab.h"


static void llmr_kw_build(void);
static void llmr_kw_insert(uint64_t key, unsigned classes, int domain);


#define K(text, classes, domain)                                              \
    { text, classes, LLMR_DOMAIN_##domain }

#define GRT                     LLMR_KW_GREETING
#define SMP                     LLMR_KW_SIMPLE
#define EXP                     LLMR_KW_EXPLAIN
#define CPX                     LLMR_KW_COMPLEX
#define XPT                     LLMR_KW_EXPERT
#define CON                     LLMR_KW_CONSTRAINT
#define STP                     LLMR_KW_STEP
#define MUL                     LLMR_KW_MULTI
#define COD                     LLMR_KW_CODE
#define MTH                     LLMR_KW_MATH
#define STK                     LLMR_KW_STAKES
#define RSN                     LLMR_KW_REASON
#define REQ                     LLMR_KW_REQUEST
#define OPN                     LLMR_KW_OPENER
#define REL                     LLMR_KW_RELATION
#define PER                     LLMR_KW_PERSONA
#define GEN                     LLMR_KW_GENRE
#define CMP                     LLMR_KW_COMPOSE
#define ANC                     LLMR_KW_ANCHOR

/*
 * The vocabulary.  Words are matched whole, case-insensitively, with a
 * plural 's' dropped on both sides ("constraints" finds "constraint");
 * '-' separates words like a blank does ("trade-offs" is "trade off").
 * A domain other than GENERAL counts toward that domain; STAKES marks a
 * term that makes a request high-stakes when its domain wins.
 */

static const llmr_kw_def_t  llmr_kw_list[] = {

    /* greetings, thanks and small talk */
    K("hi", GRT, GENERAL),
    K("hello", GRT, GENERAL),
    K("hey", GRT, GENERAL),
    K("hiya", GRT, GENERAL),
    K("howdy", GRT, GENERAL),
    K("yo", GRT, GENERAL),
    K("greetings", GRT, GENERAL),
    K("good morning", GRT, GENERAL),
    K("good afternoon", GRT, GENERAL),
    K("good evening", GRT, GENERAL),
    K("good night", GRT, GENERAL),
    K("how are you", GRT, GENERAL),
    K("how's it going", GRT, GENERAL),
    K("what's up", GRT, GENERAL),
    K("nice to meet you", GRT, GENERAL),
    K("thanks", GRT, GENERAL),
    K("thank you", GRT, GENERAL),
    K("thx", GRT, GENERAL),
    K("ty", GRT, GENERAL),
    K("cheers", GRT, GENERAL),
    K("bye", GRT, GENERAL),
    K("goodbye", GRT, GENERAL),
    K("see you", GRT, GENERAL),
    K("ok", GRT, GENERAL),
    K("okay", GRT, GENERAL),
    K("cool", GRT, GENERAL),
    K("great", GRT, GENERAL),
    K("awesome", GRT, GENERAL),
    K("perfect", GRT, GENERAL),
    K("nice", GRT, GENERAL),
    K("yes", GRT, GENERAL),
    K("yep", GRT, GENERAL),
    K("nope", GRT, GENERAL),
    K("sure", GRT, GENERAL),
    K("got it", GRT, GENERAL),
    K("lol", GRT, GENERAL),
    K("haha", GRT, GENERAL),

    /* requests: the word after one asks for something */
    K("please", REQ, GENERAL),
    K("pls", REQ, GENERAL),
    K("plz", REQ, GENERAL),
    K("kindly", REQ, GENERAL),
    K("can you", REQ, GENERAL),
    K("could you", REQ, GENERAL),
    K("would you", REQ, GENERAL),
    K("will you", REQ, GENERAL),
    K("can u", REQ, GENERAL),
    K("help me", REQ, GENERAL),
    K("i need you to", REQ, GENERAL),
    K("i need to", REQ, GENERAL),
    K("i want you to", REQ, GENERAL),
    K("i want to", REQ, GENERAL),
    K("i'd like you to", REQ, GENERAL),
    K("i'd like to", REQ, GENERAL),
    K("i would like you to", REQ, GENERAL),
    K("i would like to", REQ, GENERAL),
    K("let's", REQ, GENERAL),
    K("let us", REQ, GENERAL),
    K("now", OPN, GENERAL),
    K("you should", REQ, GENERAL),
    K("your task is to", REQ, GENERAL),
    K("your job is to", REQ, GENERAL),
    K("try to", REQ, GENERAL),
    K("how do i", REQ, GENERAL),
    K("how can i", REQ, GENERAL),
    K("how should i", REQ, GENERAL),
    K("how would i", REQ, GENERAL),
    K("how would you", REQ, GENERAL),
    K("how do you", REQ, GENERAL),
    K("how to", EXP | REQ, GENERAL),
    K("show me how to", REQ, GENERAL),
    K("the best way to", REQ, GENERAL),
    K("tell me", REQ, GENERAL),
    K("give me", REQ, GENERAL),
    K("show me", REQ, GENERAL),
    K("teach me", REQ, GENERAL),

    /* lookups: short factual questions */
    K("what is", SMP, GENERAL),
    K("what are", SMP, GENERAL),
    K("what's", SMP, GENERAL),
    K("who is", SMP, GENERAL),
    K("who was", SMP, GENERAL),
    K("who wrote", SMP, GENERAL),
    K("when is", SMP, GENERAL),
    K("when was", SMP, GENERAL),
    K("when did", SMP, GENERAL),
    K("where is", SMP, GENERAL),
    K("where are", SMP, GENERAL),
    K("which is", SMP, GENERAL),
    K("define", SMP, GENERAL),
    K("definition", SMP, GENERAL),
    K("meaning of", SMP, GENERAL),
    K("capital", SMP, GENERAL),
    K("synonym", SMP, GENERAL),
    K("antonym", SMP, GENERAL),
    K("translate", SMP, GENERAL),
    K("spell", SMP, GENERAL),
    K("how old", SMP, GENERAL),
    K("how tall", SMP, GENERAL),
    K("population", SMP, GENERAL),
    K("quick question", SMP, GENERAL),
    K("in one word", SMP, GENERAL),
    K("one sentence", SMP, GENERAL),
    K("short answer", SMP, GENERAL),
    K("briefly", SMP, GENERAL),
    K("tldr", SMP, GENERAL),
    K("yes or no", SMP, GENERAL),
    K("true or false", SMP, GENERAL),

    /* asks of a moderate size */
    K("explain", EXP, GENERAL),
    K("describe", EXP | CMP, GENERAL),
    K("summarize", EXP, GENERAL),
    K("summarise", EXP, GENERAL),
    K("summary", EXP, GENERAL),
    K("compare", EXP, GENERAL),
    K("comparison", EXP, GENERAL),
    K("contrast", EXP, GENERAL),
    K("difference", EXP, GENERAL),
    K("why", EXP, GENERAL),
    K("how does", EXP, GENERAL),
    K("how do", EXP, GENERAL),
    K("how can", EXP, GENERAL),
    K("how would", EXP, GENERAL),
    K("how should", EXP, GENERAL),
    K("overview", EXP, GENERAL),
    K("outline", EXP, GENERAL),
    K("discuss", EXP, GENERAL),
    K("elaborate", EXP, GENERAL),
    K("interpret", EXP, GENERAL),
    K("clarify", EXP, GENERAL),
    K("illustrate", EXP, GENERAL),
    K("example", EXP, GENERAL),
    K("pros and cons", EXP, GENERAL),
    K("advantage", EXP, GENERAL),
    K("disadvantage", EXP, GENERAL),
    K("review", EXP, GENERAL),
    K("rewrite", EXP, GENERAL),
    K("improve", EXP, GENERAL),
    K("write", EXP | CMP, GENERAL),
    K("draft", EXP | CMP, GENERAL),
    K("suggest", EXP, GENERAL),
    K("recommend", EXP, GENERAL),
    K("recommendation", EXP, GENERAL),
    K("classify", EXP, GENERAL),
    K("categorize", EXP, GENERAL),
    K("infer", EXP, GENERAL),
    K("conclude", EXP, GENERAL),
    K("predict", EXP, GENERAL),
    K("most likely", EXP, GENERAL),

    /* asks that need a strong model */
    K("design", CPX, GENERAL),
    K("architect", CPX, CODE),
    K("architecture", CPX, CODE),
    K("analyze", CPX, ANALYSIS),
    K("analyse", CPX, ANALYSIS),
    K("optimize", CPX, GENERAL),
    K("optimise", CPX, GENERAL),
    K("optimization", CPX, GENERAL),
    K("implement", CPX, CODE),
    K("implementation", CPX, CODE),
    K("evaluate", CPX, ANALYSIS),
    K("evaluation", CPX, ANALYSIS),
    K("assess", CPX, ANALYSIS),
    K("assessment", CPX, ANALYSIS),
    K("critique", CPX, GENERAL),
    K("critically", CPX, GENERAL),
    K("trade off", CPX, GENERAL),
    K("tradeoff", CPX, GENERAL),
    K("scalable", CPX, CODE),
    K("scalability", CPX, CODE),
    K("distributed", CPX, CODE),
    K("concurrency", CPX, CODE),
    K("concurrent", CPX, CODE),
    K("parallel", CPX, GENERAL),
    K("refactor", CPX | ANC, CODE),
    K("debug", CPX | ANC, CODE),
    K("algorithm", CPX, CODE),
    K("complexity", CPX, GENERAL),
    K("strategy", CPX, GENERAL),
    K("comprehensive", CPX, GENERAL),
    K("in depth", CPX, GENERAL),
    K("detailed", CPX, GENERAL),
    K("derive", CPX, MATH),
    K("derivation", CPX, MATH),
    K("migrate", CPX, CODE),
    K("migration", CPX, CODE),
    K("integrate", CPX, GENERAL),
    K("integration", CPX, GENERAL),
    K("robust", CPX, GENERAL),
    K("robustness", CPX, GENERAL),
    K("performance", CPX, GENERAL),
    K("latency", CPX, CODE),
    K("throughput", CPX, CODE),
    K("fault tolerant", CPX, CODE),
    K("fault tolerance", CPX, CODE),
    K("high availability", CPX, CODE),
    K("edge case", CPX, CODE),
    K("multi region", CPX, CODE),
    K("microservice", CPX, CODE),
    K("pipeline", CPX, CODE),
    K("infrastructure", CPX, CODE),
    K("end to end", CPX, GENERAL),
    K("production", CPX, GENERAL),
    K("security", CPX, CODE),
    K("threat model", CPX, CODE),
    K("vulnerability", CPX, CODE),
    K("root cause", CPX, GENERAL),
    K("investigate", CPX, GENERAL),
    K("simulate", CPX, GENERAL),
    K("simulation", CPX, GENERAL),
    K("nuanced", CPX, GENERAL),
    K("implication", CPX, GENERAL),
    K("synthesize", CPX, GENERAL),
    K("prioritize", CPX, GENERAL),
    K("roadmap", CPX, GENERAL),
    K("semantics", CPX, GENERAL),
    K("consistency", CPX, GENERAL),
    K("sharding", CPX, CODE),
    K("replication", CPX, CODE),
    K("orchestration", CPX, CODE),

    /* asks at the frontier */
    K("prove", XPT, MATH),
    K("proof", XPT, MATH),
    K("rigorous", XPT, GENERAL),
    K("rigorously", XPT, GENERAL),
    K("formal", XPT, GENERAL),
    K("formally", XPT, GENERAL),
    K("theorem", XPT, MATH),
    K("lemma", XPT, MATH),
    K("corollary", XPT, MATH),
    K("research", XPT, GENERAL),
    K("state of the art", XPT, GENERAL),
    K("exactly once", XPT, CODE),
    K("event sourcing", XPT, CODE),
    K("consensus", XPT, CODE),
    K("byzantine", XPT, CODE),
    K("linearizable", XPT, CODE),
    K("linearizability", XPT, CODE),
    K("serializable", XPT, CODE),
    K("serializability", XPT, CODE),
    K("raft", XPT, CODE),
    K("paxos", XPT, CODE),
    K("crdt", XPT, CODE),
    K("formal verification", XPT, CODE),
    K("zero knowledge", XPT, CODE),
    K("cryptographic", XPT, CODE),
    K("homomorphic", XPT, CODE),
    K("asymptotic", XPT, MATH),
    K("np hard", XPT, MATH),
    K("np complete", XPT, MATH),
    K("undecidable", XPT, MATH),
    K("stochastic", XPT, MATH),
    K("differential equation", XPT, MATH),
    K("eigenvalue", XPT, MATH),
    K("topology", XPT, MATH),
    K("manifold", XPT, MATH),
    K("category theory", XPT, MATH),
    K("measure theory", XPT, MATH),
    K("provably", XPT, GENERAL),
    K("worst case", XPT, GENERAL),
    K("amortized", XPT, CODE),
    K("lock free", XPT, CODE),
    K("wait free", XPT, CODE),
    K("memory model", XPT, CODE),
    K("first principles", XPT, GENERAL),
    K("graduate level", XPT, GENERAL),
    K("peer review", XPT, GENERAL),
    K("dissertation", XPT, GENERAL),
    K("thesis", XPT, GENERAL),

    /* constraints on the answer */
    K("must", CON, GENERAL),
    K("should", CON, GENERAL),
    K("without", CON, GENERAL),
    K("at least", CON, GENERAL),
    K("at most", CON, GENERAL),
    K("no more than", CON, GENERAL),
    K("no less than", CON, GENERAL),
    K("fewer than", CON | REL, GENERAL),
    K("less than", CON | REL, GENERAL),
    K("exactly", CON, GENERAL),
    K("only", CON, GENERAL),
    K("ensure", CON, GENERAL),
    K("make sure", CON, GENERAL),
    K("do not", CON, GENERAL),
    K("don't", CON, GENERAL),
    K("never", CON, GENERAL),
    K("always", CON, GENERAL),
    K("avoid", CON, GENERAL),
    K("limit", CON, GENERAL),
    K("within", CON, GENERAL),
    K("requirement", CON, GENERAL),
    K("constraint", CON, GENERAL),
    K("required", CON, GENERAL),
    K("format", CON, GENERAL),
    K("formatted", CON, GENERAL),
    K("maximum", CON, GENERAL),
    K("minimum", CON, GENERAL),
    K("strictly", CON, GENERAL),
    K("guarantee", CON, GENERAL),
    K("cannot", CON, GENERAL),
    K("can't", CON, GENERAL),
    K("exclude", CON, GENERAL),
    K("excluding", CON, GENERAL),
    K("word", CON, GENERAL),
    K("bullet point", CON, GENERAL),
    K("markdown", CON, GENERAL),
    K("tone", CON, GENERAL),
    K("audience", CON, GENERAL),
    K("assume", CON, GENERAL),
    K("assuming", CON, GENERAL),
    K("given that", CON, GENERAL),
    K("subject to", CON, GENERAL),
    K("unless", CON, GENERAL),
    K("except", CON, GENERAL),
    K("compatible", CON, GENERAL),

    /* steps and sequence */
    K("step by step", STP | RSN, GENERAL),
    K("step", STP, GENERAL),
    K("first", STP | OPN, GENERAL),
    K("firstly", STP | OPN, GENERAL),
    K("then", STP | OPN, GENERAL),
    K("next", STP | OPN, GENERAL),
    K("finally", STP | OPN, GENERAL),
    K("lastly", STP | OPN, GENERAL),
    K("secondly", STP | OPN, GENERAL),
    K("thirdly", STP, GENERAL),
    K("after that", STP | OPN, GENERAL),
    K("afterward", STP, GENERAL),
    K("afterwards", STP, GENERAL),
    K("subsequently", STP, GENERAL),
    K("walk me through", STP, GENERAL),
    K("walk through", STP, GENERAL),
    K("show your work", STP | RSN, GENERAL),
    K("stage", STP, GENERAL),
    K("phase", STP, GENERAL),
    K("procedure", STP, GENERAL),
    K("workflow", STP, GENERAL),
    K("iterate", STP, GENERAL),
    K("later", STP, GENERAL),
    K("before", STP, GENERAL),
    K("remaining", STP | MTH | REL, MATH),

    /* more than one ask */
    K("also", MUL | OPN, GENERAL),
    K("additionally", MUL | OPN, GENERAL),
    K("furthermore", MUL | OPN, GENERAL),
    K("moreover", MUL | OPN, GENERAL),
    K("as well as", MUL, GENERAL),
    K("in addition", MUL, GENERAL),
    K("both", MUL, GENERAL),
    K("respectively", MUL, GENERAL),
    K("besides", MUL, GENERAL),
    K("along with", MUL, GENERAL),
    K("together with", MUL, GENERAL),
    K("followed by", MUL, GENERAL),
    K("and then", MUL | OPN, GENERAL),
    K("part", MUL, GENERAL),
    K("another", MUL, GENERAL),

    /*
     * A quantity given through another one (half of, three times as
     * many, 5 more than, the rest): each is a step of a word problem
     * that a small model gets wrong more often.  Fractions (3/4) are
     * counted by the scanner.
     */
    K("halves", REL, GENERAL),
    K("third", REL, GENERAL),
    K("quarter", REL, GENERAL),
    K("fifth", REL, GENERAL),
    K("sixth", REL, GENERAL),
    K("seventh", REL, GENERAL),
    K("eighth", REL, GENERAL),
    K("ninth", REL, GENERAL),
    K("tenth", REL, GENERAL),
    K("thrice", REL, GENERAL),
    K("double", REL, GENERAL),
    K("triple", REL, GENERAL),
    K("quadruple", REL, GENERAL),
    K("times as", REL, GENERAL),
    K("times more", REL, GENERAL),
    K("times less", REL, GENERAL),
    K("times the", REL, GENERAL),
    K("more than", REL, GENERAL),
    K("older than", REL, GENERAL),
    K("younger than", REL, GENERAL),
    K("longer than", REL, GENERAL),
    K("shorter than", REL, GENERAL),
    K("taller than", REL, GENERAL),
    K("cheaper than", REL, GENERAL),
    K("faster than", REL, GENERAL),
    K("slower than", REL, GENERAL),
    K("bigger than", REL, GENERAL),
    K("smaller than", REL, GENERAL),
    K("larger than", REL, GENERAL),
    K("greater than", REL, GENERAL),
    K("higher than", REL, GENERAL),
    K("lower than", REL, GENERAL),
    K("heavier than", REL, GENERAL),
    K("lighter than", REL, GENERAL),
    K("rest", REL, GENERAL),
    K("remainder", REL, GENERAL),

    /* careful thinking */
    K("think carefully", RSN, GENERAL),
    K("carefully", RSN, GENERAL),
    K("thoroughly", RSN, GENERAL),
    K("reasoning", RSN, GENERAL),
    K("justify", RSN, GENERAL),
    K("explain why", RSN, GENERAL),
    K("explain your reasoning", RSN, GENERAL),
    K("verify", RSN, GENERAL),
    K("double check", RSN, GENERAL),
    K("tricky", RSN, GENERAL),
    K("think through", RSN, GENERAL),
    K("chain of thought", RSN, GENERAL),
    K("consider", RSN, GENERAL),
    K("imply", RSN, GENERAL),
    K("implies", RSN, GENERAL),
    K("if and only if", RSN, MATH),

    /* code */
    K("code", COD | ANC, CODE),
    K("coding", COD | ANC, CODE),
    K("program", COD, CODE),
    K("programming", COD | ANC, CODE),
    K("function", COD, CODE),
    K("method", COD, CODE),
    K("script", COD, CODE),
    K("snippet", COD | ANC, CODE),
    K("def", COD, CODE),
    K("return", COD, CODE),
    K("class", COD, CODE),
    K("import", COD, CODE),
    K("include", COD, CODE),
    K("const", COD, CODE),
    K("var", COD, CODE),
    K("public", COD, CODE),
    K("private", COD, CODE),
    K("static", COD, CODE),
    K("void", COD, CODE),
    K("int", COD, CODE),
    K("struct", COD, CODE),
    K("printf", COD | ANC, CODE),
    K("println", COD | ANC, CODE),
    K("console", COD, CODE),
    K("elif", COD | ANC, CODE),
    K("async", COD, CODE),
    K("await", COD, CODE),
    K("lambda", COD, CODE),
    K("namespace", COD, CODE),
    K("typedef", COD | ANC, CODE),
    K("nullptr", COD | ANC, CODE),
    K("null", COD, CODE),
    K("bool", COD, CODE),
    K("boolean", COD, CODE),
    K("dict", COD, CODE),
    K("hashmap", COD | ANC, CODE),
    K("python", COD | ANC, CODE),
    K("java", COD, CODE),
    K("javascript", COD | ANC, CODE),
    K("typescript", COD | ANC, CODE),
    K("rust", COD, CODE),
    K("golang", COD | ANC, CODE),
    K("cpp", COD | ANC, CODE),
    K("kotlin", COD | ANC, CODE),
    K("swift", COD, CODE),
    K("ruby", COD, CODE),
    K("php", COD | ANC, CODE),
    K("sql", COD | ANC, CODE),
    K("html", COD | ANC, CODE),
    K("css", COD | ANC, CODE),
    K("json", COD, CODE),
    K("yaml", COD, CODE),
    K("api", COD, CODE),
    K("endpoint", COD, CODE),
    K("http", COD, CODE),
    K("regex", COD | ANC, CODE),
    K("bug", COD, CODE),
    K("exception", COD, CODE),
    K("stack trace", COD | ANC, CODE),
    K("traceback", COD | ANC, CODE),
    K("compile", COD, CODE),
    K("compiler", COD | ANC, CODE),
    K("runtime", COD, CODE),
    K("segfault", COD | ANC, CODE),
    K("null pointer", COD | ANC, CODE),
    K("repo", COD, CODE),
    K("git", COD | ANC, CODE),
    K("docker", COD | ANC, CODE),
    K("kubernetes", COD | ANC, CODE),
    K("database", COD, CODE),
    K("query", COD, CODE),
    K("backend", COD, CODE),
    K("frontend", COD, CODE),
    K("server", COD, CODE),
    K("deploy", COD, CODE),
    K("library", COD, CODE),
    K("framework", COD, CODE),
    K("npm", COD | ANC, CODE),
    K("unit test", COD | ANC, CODE),
    K("test case", COD, CODE),
    K("loop", COD, CODE),
    K("recursion", COD, CODE),
    K("recursive", COD, CODE),
    K("pointer", COD, CODE),
    K("memory leak", COD | ANC, CODE),
    K("thread", COD, CODE),
    K("mutex", COD | ANC, CODE),
    K("deadlock", COD, CODE),
    K("race condition", COD | ANC, CODE),
    K("linux", COD, CODE),
    K("bash", COD, CODE),
    K("shell", COD, CODE),
    K("terminal", COD, CODE),
    K("command line", COD, CODE),
    K("react", COD, CODE),
    K("django", COD | ANC, CODE),
    K("nodejs", COD | ANC, CODE),
    K("quicksort", COD | ANC, CODE),
    K("binary search", COD, CODE),
    K("linked list", COD | ANC, CODE),
    K("hash table", COD | ANC, CODE),
    K("big o", COD | ANC, CODE),
    K("data structure", COD | ANC, CODE),
    K("software", COD, CODE),
    K("computer", COD, CODE),
    K("machine learning", COD, CODE),
    K("neural network", COD, CODE),
    K("kafka", COD | ANC, CODE),
    K("redis", COD | ANC, CODE),
    K("nginx", COD | ANC, CODE),
    K("cache", COD, CODE),

    /* code asked for in words: a coding task even before any code */
    K("write a function", COD | ANC, CODE),
    K("write a python", COD | ANC, CODE),
    K("write a program", COD | ANC, CODE),
    K("write a script", COD | ANC, CODE),
    K("write a class", COD | ANC, CODE),
    K("write a method", COD | ANC, CODE),
    K("write a query", COD | ANC, CODE),
    K("write a regex", COD | ANC, CODE),
    K("write a unit test", COD | ANC, CODE),
    K("implement a function", COD | ANC, CODE),
    K("implement a class", COD | ANC, CODE),
    K("shell script", COD | ANC, CODE),
    K("source code", COD | ANC, CODE),

    /* math */
    K("math", MTH, MATH),
    K("mathematics", MTH, MATH),
    K("equation", MTH, MATH),
    K("solve", MTH, MATH),
    K("calculate", MTH, MATH),
    K("compute", MTH, MATH),
    K("integral", MTH, MATH),
    K("derivative", MTH, MATH),
    K("differentiate", MTH, MATH),
    K("sum", MTH, MATH),
    K("product of", MTH, MATH),
    K("probability", MTH, MATH),
    K("percent", MTH, MATH),
    K("percentage", MTH, MATH),
    K("ratio", MTH, MATH),
    K("average", MTH, MATH),
    K("median", MTH, MATH),
    K("fraction", MTH, MATH),
    K("divide", MTH, MATH),
    K("divided", MTH, MATH),
    K("multiply", MTH, MATH),
    K("multiplied", MTH, MATH),
    K("minus", MTH, MATH),
    K("total", MTH, MATH),
    K("how many", MTH, MATH),
    K("how much", MTH, MATH),
    K("how far", MTH, MATH),
    K("how long", MTH, MATH),
    K("per", MTH, GENERAL),
    K("each", MTH, GENERAL),
    K("twice", MTH | REL, MATH),
    K("half", MTH | REL, MATH),
    K("digit", MTH, MATH),
    K("prime", MTH, MATH),
    K("polynomial", MTH, MATH),
    K("matrix", MTH, MATH),
    K("vector", MTH, MATH),
    K("algebra", MTH, MATH),
    K("geometry", MTH, MATH),
    K("triangle", MTH, MATH),
    K("angle", MTH, MATH),
    K("area", MTH, MATH),
    K("perimeter", MTH, MATH),
    K("radius", MTH, MATH),
    K("diameter", MTH, MATH),
    K("circle", MTH, MATH),
    K("square root", MTH, MATH),
    K("logarithm", MTH, MATH),
    K("exponent", MTH, MATH),
    K("exponential", MTH, MATH),
    K("factorial", MTH, MATH),
    K("modulo", MTH, MATH),
    K("integer", MTH, MATH),
    K("real number", MTH, MATH),
    K("rational", MTH, MATH),
    K("irrational", MTH, MATH),
    K("inequality", MTH, MATH),
    K("solve for", MTH, MATH),
    K("value of", MTH, MATH),
    K("slope", MTH, MATH),
    K("coordinate", MTH, MATH),
    K("series", MTH, MATH),
    K("converge", MTH, MATH),
    K("arithmetic", MTH, MATH),
    K("combinatoric", MTH, MATH),
    K("permutation", MTH, MATH),
    K("combination", MTH, MATH),
    K("subgroup", MTH, MATH),
    K("homomorphism", MTH, MATH),
    K("isomorphism", MTH, MATH),
    K("statistic", MTH, ANALYSIS),
    K("statistical", MTH, ANALYSIS),
    K("variance", MTH, ANALYSIS),
    K("standard deviation", MTH, ANALYSIS),
    K("regression", MTH, ANALYSIS),
    K("correlation", MTH, ANALYSIS),
    K("distribution", MTH, ANALYSIS),
    K("expected value", MTH, MATH),
    K("random variable", MTH, MATH),

    /* science */
    K("science", 0, SCIENCE),
    K("scientific", 0, SCIENCE),
    K("physics", 0, SCIENCE),
    K("chemistry", 0, SCIENCE),
    K("biology", 0, SCIENCE),
    K("photosynthesis", 0, SCIENCE),
    K("cell", 0, SCIENCE),
    K("molecule", 0, SCIENCE),
    K("molecular", 0, SCIENCE),
    K("atom", 0, SCIENCE),
    K("atomic", 0, SCIENCE),
    K("electron", 0, SCIENCE),
    K("proton", 0, SCIENCE),
    K("neutron", 0, SCIENCE),
    K("photon", 0, SCIENCE),
    K("energy", 0, SCIENCE),
    K("force", 0, SCIENCE),
    K("gravity", 0, SCIENCE),
    K("velocity", 0, SCIENCE),
    K("acceleration", 0, SCIENCE),
    K("momentum", 0, SCIENCE),
    K("mass", 0, SCIENCE),
    K("quantum", XPT, SCIENCE),
    K("relativity", 0, SCIENCE),
    K("thermodynamics", 0, SCIENCE),
    K("entropy", 0, SCIENCE),
    K("enzyme", 0, SCIENCE),
    K("protein", 0, SCIENCE),
    K("dna", 0, SCIENCE),
    K("rna", 0, SCIENCE),
    K("gene", 0, SCIENCE),
    K("genetic", 0, SCIENCE),
    K("evolution", 0, SCIENCE),
    K("species", 0, SCIENCE),
    K("organism", 0, SCIENCE),
    K("ecosystem", 0, SCIENCE),
    K("climate", 0, SCIENCE),
    K("planet", 0, SCIENCE),
    K("star", 0, SCIENCE),
    K("galaxy", 0, SCIENCE),
    K("orbit", 0, SCIENCE),
    K("chemical", 0, SCIENCE),
    K("reaction", 0, SCIENCE),
    K("compound", 0, SCIENCE),
    K("acid", 0, SCIENCE),
    K("element", 0, SCIENCE),
    K("electric", 0, SCIENCE),
    K("magnetic", 0, SCIENCE),
    K("circuit", 0, SCIENCE),
    K("voltage", 0, SCIENCE),
    K("wavelength", 0, SCIENCE),
    K("frequency", 0, SCIENCE),
    K("particle", 0, SCIENCE),
    K("nucleus", 0, SCIENCE),
    K("mitosis", 0, SCIENCE),
    K("bacteria", 0, SCIENCE),
    K("oxygen", 0, SCIENCE),
    K("carbon", 0, SCIENCE),
    K("hydrogen", 0, SCIENCE),
    K("nitrogen", 0, SCIENCE),
    K("catalyst", 0, SCIENCE),
    K("metabolism", 0, SCIENCE),
    K("neuron", 0, SCIENCE),
    K("astronomy", 0, SCIENCE),
    K("geology", 0, SCIENCE),
    K("temperature", 0, SCIENCE),
    K("experiment", 0, SCIENCE),
    K("hypothesis", 0, SCIENCE),

    /* analysis */
    K("analysis", CPX, ANALYSIS),
    K("data", 0, ANALYSIS),
    K("dataset", 0, ANALYSIS),
    K("trend", 0, ANALYSIS),
    K("report", 0, ANALYSIS),
    K("metric", 0, ANALYSIS),
    K("kpi", 0, ANALYSIS),
    K("insight", 0, ANALYSIS),
    K("spreadsheet", 0, ANALYSIS),
    K("csv", 0, ANALYSIS),
    K("chart", 0, ANALYSIS),
    K("forecast", 0, ANALYSIS),
    K("survey", 0, ANALYSIS),
    K("sample", 0, ANALYSIS),
    K("significance", 0, ANALYSIS),
    K("p value", 0, ANALYSIS),
    K("cohort", 0, ANALYSIS),
    K("churn", 0, ANALYSIS),
    K("market", 0, ANALYSIS),
    K("competitor", 0, ANALYSIS),
    K("swot", 0, ANALYSIS),
    K("segmentation", 0, ANALYSIS),
    K("dashboard", 0, ANALYSIS),
    K("benchmark", 0, ANALYSIS),
    K("root cause analysis", CPX, ANALYSIS),

    /* medical */
    K("medical", 0, MEDICAL),
    K("medicine", 0, MEDICAL),
    K("doctor", 0, MEDICAL),
    K("physician", 0, MEDICAL),
    K("patient", 0, MEDICAL),
    K("symptom", 0, MEDICAL),
    K("diagnosis", STK, MEDICAL),
    K("diagnose", STK, MEDICAL),
    K("dosage", STK, MEDICAL),
    K("dose", STK, MEDICAL),
    K("overdose", STK, MEDICAL),
    K("prescription", STK, MEDICAL),
    K("prescribe", STK, MEDICAL),
    K("medication", STK, MEDICAL),
    K("treatment", STK, MEDICAL),
    K("surgery", STK, MEDICAL),
    K("side effect", STK, MEDICAL),
    K("contraindication", STK, MEDICAL),
    K("drug interaction", STK, MEDICAL),
    K("chest pain", STK, MEDICAL),
    K("pregnant", STK, MEDICAL),
    K("therapy", 0, MEDICAL),
    K("drug", 0, MEDICAL),
    K("disease", 0, MEDICAL),
    K("illness", 0, MEDICAL),
    K("infection", 0, MEDICAL),
    K("fever", 0, MEDICAL),
    K("pain", 0, MEDICAL),
    K("cancer", 0, MEDICAL),
    K("tumor", 0, MEDICAL),
    K("diabetes", 0, MEDICAL),
    K("blood", 0, MEDICAL),
    K("blood pressure", 0, MEDICAL),
    K("heart", 0, MEDICAL),
    K("ibuprofen", 0, MEDICAL),
    K("acetaminophen", 0, MEDICAL),
    K("paracetamol", 0, MEDICAL),
    K("aspirin", 0, MEDICAL),
    K("antibiotic", 0, MEDICAL),
    K("vaccine", 0, MEDICAL),
    K("virus", 0, MEDICAL),
    K("allergy", 0, MEDICAL),
    K("allergic", 0, MEDICAL),
    K("clinical", 0, MEDICAL),
    K("hospital", 0, MEDICAL),
    K("nurse", 0, MEDICAL),
    K("mg", 0, MEDICAL),
    K("emergency", 0, MEDICAL),
    K("rash", 0, MEDICAL),
    K("headache", 0, MEDICAL),
    K("cough", 0, MEDICAL),
    K("injury", 0, MEDICAL),
    K("chronic", 0, MEDICAL),
    K("syndrome", 0, MEDICAL),
    K("disorder", 0, MEDICAL),
    K("mental health", 0, MEDICAL),
    K("depression", 0, MEDICAL),
    K("anxiety", 0, MEDICAL),
    K("insulin", 0, MEDICAL),
    K("cholesterol", 0, MEDICAL),
    K("hypertension", 0, MEDICAL),
    K("anatomy", 0, MEDICAL),
    K("nutrition", 0, MEDICAL),

    /* legal */
    K("law", 0, LEGAL),
    K("legal", 0, LEGAL),
    K("lawyer", 0, LEGAL),
    K("attorney", 0, LEGAL),
    K("court", 0, LEGAL),
    K("judge", 0, LEGAL),
    K("lawsuit", STK, LEGAL),
    K("liability", STK, LEGAL),
    K("liable", STK, LEGAL),
    K("contract", STK, LEGAL),
    K("clause", STK, LEGAL),
    K("compliance", STK, LEGAL),
    K("compliant", STK, LEGAL),
    K("gdpr", STK, LEGAL),
    K("hipaa", STK, LEGAL),
    K("ccpa", STK, LEGAL),
    K("regulatory", STK, LEGAL),
    K("infringement", STK, LEGAL),
    K("litigation", STK, LEGAL),
    K("nda", STK, LEGAL),
    K("legal advice", STK, LEGAL),
    K("indemnity", STK, LEGAL),
    K("indemnification", STK, LEGAL),
    K("custody", STK, LEGAL),
    K("divorce", STK, LEGAL),
    K("immigration", STK, LEGAL),
    K("subpoena", STK, LEGAL),
    K("agreement", 0, LEGAL),
    K("regulation", 0, LEGAL),
    K("statute", 0, LEGAL),
    K("legislation", 0, LEGAL),
    K("copyright", 0, LEGAL),
    K("trademark", 0, LEGAL),
    K("patent", 0, LEGAL),
    K("plaintiff", 0, LEGAL),
    K("defendant", 0, LEGAL),
    K("tort", 0, LEGAL),
    K("negligence", 0, LEGAL),
    K("jurisdiction", 0, LEGAL),
    K("terms of service", 0, LEGAL),
    K("privacy policy", 0, LEGAL),
    K("warranty", 0, LEGAL),
    K("lease", 0, LEGAL),
    K("tenant", 0, LEGAL),
    K("landlord", 0, LEGAL),
    K("criminal", 0, LEGAL),
    K("felony", 0, LEGAL),
    K("constitutional", 0, LEGAL),
    K("precedent", 0, LEGAL),
    K("evidence", 0, LEGAL),
    K("testimony", 0, LEGAL),
    K("statutory", 0, LEGAL),
    K("prosecution", 0, LEGAL),

    /* finance */
    K("finance", 0, FINANCE),
    K("financial", 0, FINANCE),
    K("money", 0, FINANCE),
    K("invest", STK, FINANCE),
    K("investment", STK, FINANCE),
    K("portfolio", STK, FINANCE),
    K("retirement", STK, FINANCE),
    K("mortgage", STK, FINANCE),
    K("loan", STK, FINANCE),
    K("tax", STK, FINANCE),
    K("audit", STK, FINANCE),
    K("capital gain", STK, FINANCE),
    K("fiduciary", STK, FINANCE),
    K("financial advice", STK, FINANCE),
    K("bankruptcy", STK, FINANCE),
    K("investing", 0, FINANCE),
    K("stock", 0, FINANCE),
    K("bond", 0, FINANCE),
    K("etf", 0, FINANCE),
    K("fund", 0, FINANCE),
    K("ira", 0, FINANCE),
    K("roth", 0, FINANCE),
    K("pension", 0, FINANCE),
    K("debt", 0, FINANCE),
    K("credit", 0, FINANCE),
    K("interest rate", 0, FINANCE),
    K("irs", 0, FINANCE),
    K("deduction", 0, FINANCE),
    K("accounting", 0, FINANCE),
    K("budget", 0, FINANCE),
    K("revenue", 0, FINANCE),
    K("profit", 0, FINANCE),
    K("cash flow", 0, FINANCE),
    K("valuation", 0, FINANCE),
    K("equity", 0, FINANCE),
    K("dividend", 0, FINANCE),
    K("crypto", 0, FINANCE),
    K("bitcoin", 0, FINANCE),
    K("bank", 0, FINANCE),
    K("insurance", 0, FINANCE),
    K("inflation", 0, FINANCE),
    K("securities", 0, FINANCE),
    K("trading", 0, FINANCE),
    K("hedge", 0, FINANCE),
    K("ebitda", 0, FINANCE),
    K("balance sheet", 0, FINANCE),
    K("income statement", 0, FINANCE),
    K("depreciation", 0, FINANCE),
    K("liability account", 0, FINANCE),

    /* creative */
    K("poem", GEN, CREATIVE),
    K("poetry", GEN, CREATIVE),
    K("story", GEN, CREATIVE),
    K("stories", GEN, CREATIVE),
    K("fiction", GEN, CREATIVE),
    K("novel", GEN, CREATIVE),
    K("character", 0, CREATIVE),
    K("plot", 0, CREATIVE),
    K("haiku", GEN, CREATIVE),
    K("limerick", GEN, CREATIVE),
    K("lyric", GEN, CREATIVE),
    K("song", GEN, CREATIVE),
    K("rhyme", GEN, CREATIVE),
    K("sonnet", GEN, CREATIVE),
    K("screenplay", GEN, CREATIVE),
    K("dialogue", GEN, CREATIVE),
    K("creative", GEN, CREATIVE),
    K("imaginative", GEN, CREATIVE),
    K("fantasy", GEN, CREATIVE),
    K("narrative", GEN, CREATIVE),
    K("slogan", GEN, CREATIVE),
    K("tagline", GEN, CREATIVE),
    K("joke", GEN, CREATIVE),
    K("riddle", GEN, CREATIVE),
    K("metaphor", 0, CREATIVE),
    K("fairy tale", GEN, CREATIVE),
    K("blog post", GEN, CREATIVE),
    K("caption", GEN, CREATIVE),
    K("vivid", GEN, CREATIVE),
    K("imagery", GEN, CREATIVE),
    K("short story", GEN, CREATIVE),
    K("bedtime story", GEN, CREATIVE),
    K("fan fiction", GEN, CREATIVE),
    K("fable", GEN, CREATIVE),
    K("ballad", GEN, CREATIVE),
    K("verse", GEN, CREATIVE),
    K("monologue", GEN, CREATIVE),
    K("rhyming", GEN, CREATIVE),
    K("whimsical", GEN, CREATIVE),
    K("captivating", GEN, CREATIVE),

    /*
     * Creative writing and role play, which a small model does about as
     * well as a large one: a genre counts when one of these verbs asks
     * for it ("Write a short story ...", "Compose a poem ..."), a role
     * when it is asked ("Pretend you are ...", "Please act as ...").
     */
    K("compose", CMP, GENERAL),
    K("craft", CMP, GENERAL),
    K("create", CMP, GENERAL),
    K("tell", CMP, GENERAL),
    K("invent", CMP, GENERAL),
    K("come up with", CMP, GENERAL),
    K("generate", CMP, GENERAL),
    K("act as", PER, GENERAL),
    K("pretend", PER, GENERAL),
    K("imagine you are", PER, GENERAL),
    K("imagine you're", PER, GENERAL),
    K("imagine yourself", PER, GENERAL),
    K("picture yourself", PER, GENERAL),
    K("role play", PER, GENERAL),
    K("roleplay", PER, GENERAL),
    K("assume the role", PER, GENERAL),
    K("play the role", PER, GENERAL),
    K("take on the role", PER, GENERAL),
    K("persona", PER, GENERAL),
    K("embody", PER, GENERAL),
    K("in the style of", PER, GENERAL),
    K("stay in character", PER, GENERAL),
    K("you are now", PER, GENERAL),

    /* humanities */
    K("history", 0, HUMANITIES),
    K("historical", 0, HUMANITIES),
    K("philosophy", 0, HUMANITIES),
    K("philosophical", 0, HUMANITIES),
    K("philosopher", 0, HUMANITIES),
    K("ethics", 0, HUMANITIES),
    K("ethical", 0, HUMANITIES),
    K("moral", 0, HUMANITIES),
    K("morally", 0, HUMANITIES),
    K("literature", 0, HUMANITIES),
    K("literary", 0, HUMANITIES),
    K("religion", 0, HUMANITIES),
    K("religious", 0, HUMANITIES),
    K("culture", 0, HUMANITIES),
    K("cultural", 0, HUMANITIES),
    K("politics", 0, HUMANITIES),
    K("political", 0, HUMANITIES),
    K("sociology", 0, HUMANITIES),
    K("psychology", 0, HUMANITIES),
    K("anthropology", 0, HUMANITIES),
    K("art", 0, HUMANITIES),
    K("war", 0, HUMANITIES),
    K("empire", 0, HUMANITIES),
    K("revolution", 0, HUMANITIES),
    K("century", 0, HUMANITIES),
    K("ancient", 0, HUMANITIES),
    K("medieval", 0, HUMANITIES),
    K("renaissance", 0, HUMANITIES),
    K("civilization", 0, HUMANITIES),
    K("government", 0, HUMANITIES),
    K("democracy", 0, HUMANITIES),
    K("linguistics", 0, HUMANITIES),
    K("grammar", 0, HUMANITIES),
    K("author", 0, HUMANITIES),
};

#undef K
#undef GRT
#undef SMP
#undef EXP
#undef CPX
#undef XPT
#undef CON
#undef STP
#undef MUL
#undef COD
#undef MTH
#undef STK
#undef RSN
#undef REQ
#undef OPN
#undef REL
#undef PER
#undef GEN
#undef CMP

/*
 * The keyword table and its filters are filled once, on first use, and
 * only read after: pthread_once() makes that safe in threaded callers,
 * and llmr_features_init() lets a server fill them before it forks.
 */


llmr_kw_slot_t   llmr_kw_table[LLMR_KW_SLOTS];
uint64_t         llmr_kw_first[LLMR_KW_FILTER_BITS / 64];
uint64_t         llmr_kw_pair[LLMR_KW_FILTER_BITS / 64];
uint64_t         llmr_kw_more[LLMR_KW_FILTER_BITS / 64];
static size_t    llmr_kw_used;
static pthread_once_t   llmr_kw_once = PTHREAD_ONCE_INIT;


const llmr_kw_slot_t *
llmr_kw_get(void)
{
    (void) pthread_once(&llmr_kw_once, llmr_kw_build);

    return llmr_kw_table;
}


static void
llmr_kw_build(void)
{
    size_t                i, n, len, hl, f;
    uint64_t              key, wkey, raw8[2], prev8[2];
    unsigned              c, classes;
    unsigned char         buf[LLMR_KW_TEXT_MAX + 16], *p, *w,
                          form[LLMR_WORD_HASHED + 16];
    const llmr_kw_def_t  *def;

    for (i = 0; i < sizeof(llmr_kw_list) / sizeof(llmr_kw_def_t); i++) {
        def = &llmr_kw_list[i];

        len = strlen(def->text);

        if (len > LLMR_KW_TEXT_MAX) {
            /* the unit test checks that this never happens */
            continue;
        }

        /*
         * The same word rules as the scanner, on a plain phrase: one
         * word is found alone, two by the pair filter at the second
         * word, more as a phrase under way from there.
         */

        memset(buf, 0, sizeof(buf));
        memcpy(buf, def->text, len);

        key = 0;
        prev8[0] = 0;
        prev8[1] = 0;
        n = 0;
        w = NULL;

        for (p = buf; /* void */ ; p++) {
            c = *p;

            if ((llmr_ctype[c] & LLMR_C_WORD)
                || (c == '\'' && w && (llmr_ctype[p[1]] & LLMR_C_ALPHA)))
            {
                if (w == NULL) {
                    w = p;
                }

                continue;
            }

            if (w) {
                hl = llmr_word_stem(w, p - w);
                wkey = llmr_key_mix(llmr_word_raw(w, hl));

                /* the forms as written: the stem, and the stem + 's' */

                memset(form, 0, sizeof(form));
                memcpy(form, w, hl);
                form[hl] = 's';
                raw8[0] = llmr_word_raw8(form, hl);
                raw8[1] = llmr_word_raw8(form, hl + 1);

                if (n == 0) {
                    key = wkey;

                } else {
                    if (n > 1) {
                        llmr_kw_insert(key, LLMR_KW_PREFIX,
                                       LLMR_DOMAIN_GENERAL);
                    }

                    key = llmr_key_pair(key, wkey);

                    if (n == 1) {
                        for (f = 0; f < 4; f++) {
                            llmr_kw_filter_set(llmr_kw_pair,
                                               llmr_pair8(prev8[f / 2],
                                                          raw8[f % 2]));
                        }

                    } else {
                        llmr_kw_filter_set(llmr_kw_more, key);
                    }
                }

                prev8[0] = raw8[0];
                prev8[1] = raw8[1];
                n++;
                w = NULL;
            }

            if (c == '\0') {
                break;
            }
        }

        if (n == 0) {
            continue;
        }

        if (n == 1) {
            llmr_kw_filter_set(llmr_kw_first, prev8[0]);
            llmr_kw_filter_set(llmr_kw_first, prev8[1]);
        }

        classes = def->classes & ~LLMR_KW_PREFIX;
        llmr_kw_insert(key, classes, def->domain);
    }

    /* a lone x, y or z is read too: it is most likely a variable */

    for (c = 'x'; c <= 'z'; c++) {
        memset(buf, 0, sizeof(buf));
        buf[0] = (unsigned char) c;
        llmr_kw_filter_set(llmr_kw_first, llmr_word_raw8(buf, 1));
    }
}


static void
llmr_kw_insert(uint64_t key, unsigned classes, int domain)
{
    uint32_t         i;
    llmr_kw_slot_t  *e;

    i = (uint32_t) key & (LLMR_KW_SLOTS - 1);

    for ( ;; ) {
        e = &llmr_kw_table[i];

        if (!e->used) {
            break;
        }

        if (e->check == (uint32_t) (key >> 32)) {
            e->classes |= classes;

            if (e->domain == LLMR_DOMAIN_GENERAL) {
                e->domain = (unsigned) domain;
            }

            return;
        }

        i = (i + 1) & (LLMR_KW_SLOTS - 1);
    }

    if (llmr_kw_used >= LLMR_KW_SLOTS / 2) {
        /* the unit test checks that this never happens */
        return;
    }

    e->check = (uint32_t) (key >> 32);
    e->classes = classes;
    e->domain = (unsigned) domain;
    e->used = 1;
    llmr_kw_used++;
}


void
llmr_features_init(void)
{
    (void) llmr_kw_get();
}

const llmr_kw_def_t *
llmr_kw_defs(size_t *n)
{
    *n = sizeof(llmr_kw_list) / sizeof(llmr_kw_def_t);

    return llmr_kw_list;
}


size_t
llmr_kw_table_used(size_t *slots)
{
    (void) llmr_kw_get();

    if (slots) {
        *slots = LLMR_KW_SLOTS;
    }

    return llmr_kw_used;
}
