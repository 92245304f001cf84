#!/usr/bin/perl

# The reference cannot drift from the module: every directive the module
# registers has its section in README.md with a Syntax that names it, a
# Default, and the Context its flags allow; every variable it adds is in
# the Variables table.  Read from the sources, not from a list kept here.

use strict;
use warnings;

use FindBin;
use Test::More;

my $repo = "$FindBin::Bin/..";

sub slurp {
    my ($f) = @_;
    open(my $fh, '<', $f) or die "$f: $!\n";
    local $/;
    return <$fh>;
}

my $readme = slurp("$repo/README.md");
my $src = join '', map { slurp($_) }
    glob("$repo/ngx_llm_router_module/*.c");

# { ngx_string("llm_x"),\n      NGX_HTTP_MAIN_CONF|...|NGX_CONF_TAKE1,

my %dirs;
while ($src =~ /\{\s*ngx_string\("(llm_\w+)"\),\s*\n\s*((?:NGX_\w+\s*\|?\s*)+),/g)
{
    my ($name, $flags) = ($1, $2);
    my @ctx;
    push @ctx, 'http' if $flags =~ /NGX_HTTP_MAIN_CONF/;
    push @ctx, 'server' if $flags =~ /NGX_HTTP_SRV_CONF/;
    push @ctx, 'location' if $flags =~ /NGX_HTTP_LOC_CONF/;
    $dirs{$name} = \@ctx;
}

ok(keys %dirs >= 25, 'the directives read from the sources: '
   . scalar(keys %dirs));

for my $d (sort keys %dirs) {
    my ($para) = $readme =~ /^#{3,4} \Q$d\E\n\n(Syntax:.*?)\n\n/ms;

    ok(defined $para, "$d: a section with its Syntax") or next;

    $para =~ s/\n/ /g;
    like($para, qr/^Syntax: `\Q$d\E[ ;]/, "$d: the Syntax names it");
    like($para, qr/· Default: \S/, "$d: a Default");

    my ($ctx) = $para =~ /· Context: (.*?)(?: ·|$)/;
    my @doc = defined $ctx ? ($ctx =~ /`(\w+)`/g) : ();
    is("@doc", "@{ $dirs{$d} }", "$d: the Context its flags allow");
}

# variables: ngx_string("llm_x") in the variables' table

my $vars = slurp("$repo/ngx_llm_router_module/"
                 . "ngx_http_llm_router_variables.c");
my @vars = $vars =~ /\{ ngx_string\("(llm_\w+)"\)/g;

ok(@vars >= 20, 'the variables read from the sources: ' . scalar(@vars));

for my $v (@vars) {
    like($readme, qr/^\| `\$\Q$v\E` \|/m, "\$$v: in the Variables table");
}

done_testing();
