#!/bin/sh
#
# dashboard2c.sh dashboard.html > ngx_http_llm_router_dashboard.h
#
# The dashboard page as a C string for llm_status (POSIX sh and awk):
# backslashes, double quotes and question marks (no trigraphs) escaped,
# one source line a line.  build.sh regenerates the header when the page
# changes; t/14-dashboard.t checks that the committed one matches.

set -eu

[ $# -eq 1 ] || { echo "usage: $0 dashboard.html" >&2; exit 2; }

awk '
function esc(s,    out, i, c) {
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\\") {
            out = out "\\\\"
        } else if (c == "\"") {
            out = out "\\\""
        } else if (c == "?") {
            out = out "\\?"
        } else if (c == "\t") {
            out = out "\\t"
        } else {
            out = out c
        }
    }
    return out
}
BEGIN {
    print "/* generated from dashboard.html by dashboard2c.sh: do not edit */"
    print ""
    print "#ifndef _NGX_HTTP_LLM_ROUTER_DASHBOARD_H_INCLUDED_"
    print "#define _NGX_HTTP_LLM_ROUTER_DASHBOARD_H_INCLUDED_"
    print ""
    print ""
    print "static const char  ngx_http_llm_router_dashboard[] ="
}
{
    printf "    \"%s\\n\"\n", esc($0)
}
END {
    print "    ;"
    print ""
    print ""
    print "#endif /* _NGX_HTTP_LLM_ROUTER_DASHBOARD_H_INCLUDED_ */"
}
' "$1"
