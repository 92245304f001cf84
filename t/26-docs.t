#!/usr/bin/perl

# The reference cannot drift from the module.  Read from the sources, not
# from a list kept here:
#
# - every directive the module registers has its section in
#   docs/directives.md, with a Syntax whose forms name it and take the
#   number of arguments its flags allow (on | off for a flag, the values
#   of its enum table), parameters the sources know, a Default that is a
#   valid use of that syntax (the value the sources merge in, where it
#   can be read from them), and the Context its flags allow;
# - nothing else is documented as a directive: no section, Syntax line or
#   nginx example in the docs names an llm_ directive the module does not
#   register;
# - every variable it adds is in docs/variables.md, and that table lists
#   no other;
# - every relative link of README.md and docs/ reaches a file and, with an
#   #anchor, a heading of it.

use strict;
use warnings;

use File::Find;
use FindBin;
use Test::More;

my $repo = "$FindBin::Bin/..";

sub slurp {
    my ($f) = @_;
    open(my $fh, '<', $f) or die "$f: $!\n";
    local $/;
    return <$fh>;
}

sub sources {
    my (@dirs) = @_;
    my @files;

    find(sub { push @files, $File::Find::name if /\.[ch]$/ },
         grep { -d } map { "$repo/$_" } @dirs);

    return join '', map { slurp($_) } sort @files;
}

my $module = sources('ngx_llm_router_module');
my $core = sources('core/src', 'core/include');
my $all = $module . $core;

my $reference = slurp("$repo/docs/directives.md");

###########################################################################
# the directives and their flags, from the commands tables:
#
#   { ngx_string("llm_x"),
#     NGX_HTTP_MAIN_CONF|...|NGX_CONF_TAKE1,
#     handler, NGX_HTTP_LOC_CONF_OFFSET, offsetof(..., field), post },

my %dirs;

while ($module =~ /\{\s*ngx_string\("(llm_\w+)"\),\s*
                   ((?:NGX_\w+\s*\|?\s*)+),\s*
                   (\w+),\s*\w+,\s*
                   (?:offsetof\(\s*\w+,\s*(\w+)\s*\)|0),\s*
                   (?:&(\w+)|NULL)\s*\}/gx)
{
    my ($name, $flags, $handler, $field, $post) = ($1, $2, $3, $4, $5);
    my @ctx;

    push @ctx, 'http' if $flags =~ /NGX_HTTP_MAIN_CONF/;
    push @ctx, 'server' if $flags =~ /NGX_HTTP_SRV_CONF/;
    push @ctx, 'location' if $flags =~ /NGX_HTTP_LOC_CONF/;

    my ($min, $max);
    if ($flags =~ /NGX_CONF_NOARGS/) { ($min, $max) = (0, 0) }
    elsif ($flags =~ /NGX_CONF_FLAG/) { ($min, $max) = (1, 1) }
    elsif ($flags =~ /NGX_CONF_TAKE12/) { ($min, $max) = (1, 2) }
    elsif ($flags =~ /NGX_CONF_TAKE1/) { ($min, $max) = (1, 1) }
    elsif ($flags =~ /NGX_CONF_TAKE2/) { ($min, $max) = (2, 2) }
    elsif ($flags =~ /NGX_CONF_1MORE/) { ($min, $max) = (1, 1e9) }
    elsif ($flags =~ /NGX_CONF_2MORE/) { ($min, $max) = (2, 1e9) }
    elsif ($flags =~ /NGX_CONF_ANY/) { ($min, $max) = (0, 1e9) }
    else { die "$name: flags not understood: $flags\n" }

    $dirs{$name} = { ctx => \@ctx, min => $min, max => $max,
                     flag => $flags =~ /NGX_CONF_FLAG/ ? 1 : 0,
                     noargs => $flags =~ /NGX_CONF_NOARGS/ ? 1 : 0,
                     handler => $handler, field => $field,
                     post => $post };
}

my @registered = $module =~ /\{\s*ngx_string\("(llm_\w+)"\),\s*\n\s*NGX_/g;

is(scalar(keys %dirs), scalar(@registered),
   'every commands entry read whole: ' . scalar(@registered));
ok(keys %dirs >= 27, 'the directives read from the sources: '
   . scalar(keys %dirs));

###########################################################################
# the defaults the sources say, where they can be read

# "off" => 0 from an ngx_conf_enum_t table
sub enum_table {
    my ($table) = @_;
    my ($body) = $module =~ /\b\Q$table\E\[\]\s*=\s*\{(.*?)\n\};/s
        or return;
    my @pairs = $body =~ /\{\s*ngx_string\("([^"]+)"\),\s*(\w+)\s*\}/g;
    return @pairs;
}

# the index of an enumerator in a C enum of the core
sub enum_index {
    my ($const) = @_;
    my ($body) = $core =~ /\benum\b[^{;]*\{([^}]*\b\Q$const\E\b[^}]*)\}/s
        or return;
    my $i = 0;

    while ($body =~ /\b([A-Z][A-Z0-9_]+)\b(?:\s*=\s*(\d+))?/g) {
        $i = $2 if defined $2;
        return $i if $1 eq $const;
        $i++;
    }

    return;
}

# the names a core enum is printed with: LLMR_TIER_* by llmr_tier_names[]
sub name_array {
    my ($array) = @_;
    my ($body) = $core =~ /\b\Q$array\E\[[^\]]*\]\s*=\s*\{(.*?)\}/s
        or return;
    return $body =~ /"([^"]*)"/g;
}

sub size_bytes {
    my ($s) = @_;
    my %m = (k => 1024, m => 1024 * 1024, g => 1024 ** 3);
    return $s =~ /^(\d+)([kKmMgG]?)$/ ? $1 * ($2 ? $m{lc $2} : 1) : undef;
}

sub msec {
    my ($s) = @_;
    my %u = (ms => 1, s => 1000, m => 60_000, h => 3_600_000,
             d => 86_400_000);
    return $s =~ /^(\d+)(ms|s|m|h|d)?$/ ? $1 * $u{$2 // 's'} : undef;
}

# what llm_x's merge says its default is, as the words of its Default
sub merged_default {
    my ($name) = @_;
    my $d = $dirs{$name};

    return unless defined $d->{field};

    my ($expr) = $module =~ /ngx_conf_merge_\w*value\(\s*conf->\Q$d->{field}\E,
                             \s*prev->\Q$d->{field}\E,\s*([^;]+?)\);/x
        or return;

    if ($d->{flag}) {
        return $expr eq '1' ? 'on' : $expr eq '0' ? 'off' : undef;
    }

    if (defined $d->{post} && (my %e = reverse enum_table($d->{post}))) {
        return $e{$expr};
    }

    if ($d->{handler} eq 'ngx_conf_set_num_slot') {
        return $expr =~ /^\d+$/ ? $expr : undef;
    }

    if ($d->{handler} eq 'ngx_conf_set_size_slot') {
        return undef if $expr !~ /^[\d\s*]+$/;
        my $v = eval $expr;
        return { bytes => $v };
    }

    # a core enum: LLMR_TIER_MODERATE, LLMR_PROFILE_COST
    if ($expr =~ /^LLMR_[A-Z_]+$/) {
        my $i = enum_index($expr);
        return unless defined $i;
        my ($prefix) = $expr =~ /^(LLMR_[A-Z]+_)/;
        my @names = name_array(lc($prefix) . 'names');
        return $names[$i];
    }

    return;
}

# key=value defaults a core conf_init function sets
sub init_defaults {
    my ($func) = @_;
    my ($body) = $core =~ /^\Q$func\E\([^)]*\)\s*\{(.*?)\n\}/ms
        or return;
    my %v = $body =~ /\bc->(\w+)\s*=\s*([\d.]+);/g;
    return \%v;
}

my %conf_init = (llm_health => 'llmr_health_conf_init',
                 llm_feedback_learn => 'llmr_learn_conf_init');

###########################################################################
# a Syntax form: words, [optional groups], a | b alternatives, ...

sub tokenize {
    my ($s) = @_;
    my (@t, $word, $inword);

    $word = '';
    $inword = 0;

    for my $c (split //, $s) {
        if ($c =~ /\s/) {
            push @t, $word if length $word;
            $word = '';
            next;
        }

        if ($c eq '[' && !length $word) {
            push @t, '[';
            next;
        }

        if ($c eq '[') {
            $inword++;
            $word .= $c;
            next;
        }

        if ($c eq ']' && $inword) {
            $inword--;
            $word .= $c;
            next;
        }

        if ($c eq ']') {
            push @t, $word if length $word;
            $word = '';
            push @t, ']';
            next;
        }

        $word .= $c;
    }

    push @t, $word if length $word;

    return @t;
}

# seq := unit*; unit := alt '...'?; alt := item ('|' item)*;
# item := WORD | '[' seq ']'
sub parse_seq {
    my ($t) = @_;
    my @seq;

    while (@$t && $t->[0] ne ']' && $t->[0] ne '|') {
        my @alt = (parse_item($t));

        while (@$t && $t->[0] eq '|') {
            shift @$t;
            push @alt, parse_item($t);
        }

        my $unit = { alt => \@alt, rep => 0 };

        if (@$t && $t->[0] eq '...') {
            shift @$t;
            $unit->{rep} = 1;
        }

        push @seq, $unit;
    }

    return \@seq;
}

sub parse_item {
    my ($t) = @_;
    my $w = shift @$t;

    die "syntax ends early\n" unless defined $w;

    if ($w eq '[') {
        my $seq = parse_seq($t);
        my $close = shift @$t;
        die "unbalanced [\n" unless defined $close && $close eq ']';
        return { opt => $seq };
    }

    die "unexpected \"$w\"\n" if $w eq ']' || $w eq '|' || $w eq '...';

    return { word => $w };
}

sub parse_form {
    my ($s) = @_;
    my @t = tokenize($s);
    my $seq = parse_seq(\@t);
    die "unexpected \"$t[0]\"\n" if @t;
    return $seq;
}

# the fewest and the most arguments a sequence takes
sub seq_range {
    my ($seq) = @_;
    my ($min, $max) = (0, 0);

    for my $u (@$seq) {
        my ($umin, $umax) = (1e9, 0);

        for my $a (@{ $u->{alt} }) {
            my ($amin, $amax) = $a->{opt} ? (0, (seq_range($a->{opt}))[1])
                                          : (1, 1);
            $umin = $amin if $amin < $umin;
            $umax = $amax if $amax > $umax;
        }

        $umax = 1e9 if $u->{rep};
        $min += $umin;
        $max += $umax;
    }

    return ($min, $max > 1e9 ? 1e9 : $max);
}

# every word of a form, flattened
sub words {
    my ($seq) = @_;
    return map { map { $_->{opt} ? words($_->{opt}) : $_->{word} }
                 @{ $_->{alt} } } @$seq;
}

# does one word of the syntax take this argument?
sub word_takes {
    my ($w, $arg) = @_;

    if ($w =~ /^(\w+)=(.*)$/) {
        my ($key, $spec) = ($1, $2);
        return 0 unless $arg =~ /^\Q$key\E=(.*)$/;
        my $v = $1;
        return 1 if $spec =~ /[A-Z\$]/;
        return scalar grep { $_ eq $v } split /\|/, $spec;
    }

    return 1 if $w =~ /[A-Z]/;              # a placeholder

    return $w eq $arg;                      # a literal
}

# does the sequence accept exactly these arguments?  (backtracking)
sub seq_accepts {
    my ($seq, $args, $k) = @_;
    return match_units($seq, 0, $args, [$k // sub { $_[0] == @$args }]);
}

sub match_units {
    my ($seq, $i, $args, $kref, $pos) = @_;
    my $k = $kref->[0];
    $pos //= 0;

    return $k->($pos) if $i == @$seq;

    my $u = $seq->[$i];

    my $after;
    $after = sub {
        my ($p) = @_;
        return 1 if match_units($seq, $i + 1, $args, $kref, $p);
        # a repeated unit may take more
        return $u->{rep} && $p > $pos && match_alt($u, $args, $p, $after);
    };

    return match_alt($u, $args, $pos, $after);
}

sub match_alt {
    my ($u, $args, $pos, $k) = @_;

    for my $a (@{ $u->{alt} }) {
        if ($a->{opt}) {
            return 1 if $k->($pos);
            return 1 if match_units($a->{opt}, 0, $args, [$k], $pos);
            next;
        }

        next if $pos >= @$args;
        return 1 if word_takes($a->{word}, $args->[$pos]) && $k->($pos + 1);
    }

    return 0;
}

###########################################################################
# the reference, directive by directive

my %documented;
my $merged = 0;

while ($reference =~ /^### (\S+)\n\n```text\n(.*?)\n```\n/msg) {
    $documented{$1} = $2;
}

for my $d (sort keys %dirs) {
    my $block = $documented{$d};
    my $dir = $dirs{$d};

    ok(defined $block, "$d: a section with its Syntax, Default, Context")
        or next;

    my ($syntax) = $block =~ /^Syntax:\s+(.*?)\n(?=Default:)/ms;
    my ($default) = $block =~ /^Default:\s+(.*?)\n(?=Context:)/ms;
    my ($context) = $block =~ /^Context:\s+(.*)$/m;

    ok(defined $syntax && defined $default && defined $context,
       "$d: Syntax, Default and Context in that order") or next;

    s/\s+/ /g for $syntax, $default;

    # the forms: one a ';'
    my @forms = grep { /\S/ } split /;\s*/, $syntax;
    my @parsed;

    ok(@forms && $syntax =~ /;\s*$/, "$d: every form ends with ';'");

    for my $f (@forms) {
        $f =~ s/^\s+//;
        like($f, qr/^\Q$d\E(?: |$)/, "$d: the Syntax form names it: $f")
            or next;

        my $seq = eval { parse_form(substr($f, length $d)) };
        ok($seq, "$d: the Syntax form parses: $f" . ($@ ? " ($@)" : ''))
            or next;

        push @parsed, $seq;

        my ($min, $max) = seq_range($seq);
        my $ok = $max <= $dir->{max}
                 && ($min >= $dir->{min}
                     || ($min == 0 && $dir->{max} > 2 && $max >= 1));
        ok($ok, "$d: the form takes $min.."
           . ($max >= 1e9 ? 'any' : $max) . " arguments, its flags "
           . "$dir->{min}.." . ($dir->{max} >= 1e9 ? 'any' : $dir->{max}));

        # parameters the sources know
        for my $w (words($seq)) {
            next unless $w =~ /^(\w+)=/;
            my $key = $1;
            like($all, qr/"\Q$key\E[="]/,
                 "$d: the sources parse its parameter $key=");
        }
    }

    if ($dir->{flag}) {
        is($syntax, "$d on | off;", "$d: a flag's Syntax is on | off");
    }

    # the values of its enum table, no more, no fewer
    if (defined $dir->{post} && (my @e = enum_table($dir->{post}))) {
        my %e = @e;
        my @lit = sort grep { !/[A-Z=]/ } map { words($_) } @parsed;
        is("@lit", join(' ', sort keys %e),
           "$d: the Syntax's values are its enum's");
    }

    # the Default: '—', or a use of the syntax
    if ($default eq '—') {
        pass("$d: no default");

    } else {
        my ($use) = $default =~ /^\Q$d\E((?: \S+)*);$/;
        ok(defined $use, "$d: the Default is a use of it: $default")
            or next;

        my @args = split ' ', $use;
        ok((grep { seq_accepts($_, \@args) } @parsed),
           "$d: the Default fits its Syntax: $default");

        if (my $want = merged_default($d)) {
            $merged++;
            if (ref $want) {
                is(size_bytes($args[0] // ''), $want->{bytes},
                   "$d: the Default is the merged value");
            } else {
                is("@args", $want, "$d: the Default is the merged value");
            }
        }

        if (my $f = $conf_init{$d}) {
            my $init = init_defaults($f);
            ok($init, "$d: $f read") or next;

            my %doc = map { /^(\w+)=(.*)$/ ? ($1, $2) : () } @args;
            my @syntax_keys = map { /^(\w+)=/ ? $1 : () }
                              map { words($_) } @parsed;

            for my $k (sort @syntax_keys) {
                next unless exists $init->{$k};
                my $v = $init->{$k};

                if (!exists $doc{$k}) {
                    ok($v == 0, "$d: $k (unset by default) or $k=$v in "
                       . "its Default");
                    next;
                }

                my $doc = $doc{$k};
                $doc = $doc =~ /^([\d.]+)%$/
                       ? ($v < 1 ? $1 / 100 : $1)
                       : $doc =~ /^\d+(?:ms|s|m|h|d)$/ ? msec($doc)
                       : $doc;
                ok($doc =~ /^[\d.]+$/ && $doc == $v,
                   "$d: $k=$doc{$k} is what $f sets ($v)");
            }
        }
    }

    # a content handler has nothing to default
    if ($dir->{noargs}) {
        is($default, '—', "$d: a handler has no default");
    }

    my @doc = $context =~ /\b(http|server|location)\b/g;
    is("@doc", "@{ $dir->{ctx} }", "$d: the Context its flags allow");
}

# the merge can be read for these: a refactor that hides it shows here
ok($merged >= 10, "defaults compared with the merged values: $merged");

###########################################################################
# nothing the module does not register is documented as a directive

my @docs = ("$repo/README.md");
find(sub { push @docs, $File::Find::name if /\.md$/ }, "$repo/docs");
@docs = sort @docs;

for my $f (@docs) {
    my $text = slurp($f);
    my $rel = substr($f, length($repo) + 1);
    my %named;

    # the first word of every Syntax form
    while ($text =~ /^```text\n(.*?)^```/msg) {
        my ($syntax) = $1 =~ /^Syntax:\s+(.*?)\n(?=\S)/ms or next;
        $named{$_} = 'a Syntax form'
            for map { /^\s*(llm_\w+)/ ? $1 : () } split /;/, $syntax;
    }

    # the directives of the nginx examples
    while ($text =~ /^```nginx\n(.*?)^```/msg) {
        my $conf = $1;
        $conf =~ s/#.*$//mg;
        $named{$1} = 'an nginx example'
            while $conf =~ /(?:^|[;{])\s*(llm_\w+)\b/mg;
    }

    # the headings, outside code
    (my $prose = $text) =~ s/^```.*?^```//msg;
    $named{$1} = 'a section' while $prose =~ /^#+ (llm_\w+)\s*$/mg;

    for my $n (sort keys %named) {
        ok($dirs{$n}, "$rel: $named{$n} names $n, which the module "
           . "registers");
    }
}

for my $n (sort keys %documented) {
    ok($dirs{$n}, "docs/directives.md: the section $n is a directive the "
       . "module registers");
}

###########################################################################
# variables: ngx_string("llm_x") in the variables' table

my @vars = $module =~ /\{ ngx_string\("(llm_\w+)"\),\s*NULL,/g;
my %vars = map { $_ => 1 } @vars;

ok(@vars >= 20, 'the variables read from the sources: ' . scalar(@vars));

my $variables = slurp("$repo/docs/variables.md");

for my $v (@vars) {
    like($variables, qr/^\| `\$\Q$v\E` \|/m,
         "\$$v: in the table of docs/variables.md");
}

for my $v ($variables =~ /^\| `\$(llm_\w+)` \|/mg) {
    ok($vars{$v}, "docs/variables.md: \$$v is a variable the module adds");
}

###########################################################################
# links: every relative link resolves, anchors to a heading

sub anchors {
    my ($text) = @_;
    my (%a, %seen);

    $text =~ s/^```.*?^```//msg;

    while ($text =~ /^#+ (.*?)\s*$/mg) {
        my $h = lc $1;
        $h =~ s/[^\w\- ]//g;
        $h =~ s/ /-/g;
        my $n = $seen{$h}++;
        $a{$n ? "$h-$n" : $h} = 1;
    }

    return \%a;
}

my @linked = (@docs, "$repo/SECURITY.md", "$repo/bench/README.md");

for my $f (@linked) {
    my $text = slurp($f);
    my $rel = substr($f, length($repo) + 1);
    (my $dir = $f) =~ s{/[^/]+$}{};

    $text =~ s/^```.*?^```//msg;
    $text =~ s/`[^`\n]*`//g;

    while ($text =~ /\]\(([^)\s]+)\)/g) {
        my $link = $1;

        next if $link =~ /^[a-z]+:/i;

        my ($path, $anchor) = $link =~ /^([^#]*)(?:#(.*))?$/;
        my $target = length $path ? "$dir/$path" : $f;

        ok(-e $target, "$rel: the link $link reaches a file") or next;

        next unless defined $anchor;

        ok(-f $target && anchors(slurp($target))->{$anchor},
           "$rel: the link $link reaches a heading");
    }
}

done_testing();
