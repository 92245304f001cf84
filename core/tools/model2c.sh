#!/bin/sh
#
# model2c.sh MODEL > FILE.c
#
# Turns a classifier model file into C: llmr_model_text[] holds the file
# byte for byte, so that the built-in model is read at startup by the
# same loader, with the same checks, as llm_classifier_model FILE.
# POSIX sh and awk only: it runs from the Makefile and from nginx's
# configure (config).

set -e

if [ $# -ne 1 ] || [ ! -r "$1" ]; then
    echo "usage: $0 MODEL > FILE.c" >&2
    exit 1
fi

awk -v src="$1" '
BEGIN {
    printf "/* generated from %s by core/tools/model2c.sh */\n\n", src
    printf "#include <stddef.h>\n\n\n"
    printf "const char    llmr_model_text[] =\n"
    n = 0
}
{
    sub(/\r$/, "")
    gsub(/\\/, "\\\\")
    gsub(/"/, "\\\"")
    printf "    \"%s\\n\"\n", $0
    n++
}
END {
    if (n == 0) {
        printf "    \"\"\n"
    }
    printf "    ;\n\n"
    printf "const size_t  llmr_model_text_len = sizeof(llmr_model_text) - 1;\n"
}
' "$1"
