package LLMRouter::Prom;

# A strict parser of the Prometheus text exposition format (0.0.4), for
# the tests of llm_status?format=prometheus:
#
#   my ($samples, $errors) = prom_parse($text);
#   # $samples: [{ name, labels => {k => v}, value, family, type }, ...]
#   # $errors: the violations, with their line numbers (empty: valid)
#
# Checked: the line grammar (names, label names, escaped label values:
# only \\, \" and \n), # HELP and # TYPE once per family and before its
# samples, families contiguous, counters named *_total, histogram series
# with cumulative buckets, an le="+Inf" bucket equal to _count, and a
# _sum; no duplicate series; values that are numbers.

use strict;
use warnings;

use Exporter 'import';

our @EXPORT = qw(prom_parse prom_value);

my $NAME = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $LABEL = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
my $VALUE = qr/[-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|Inf|NaN)/;

sub _family {
    my ($name, $types) = @_;
    return $name if exists $types->{$name};
    for my $s (qw(_bucket _sum _count)) {
        (my $base = $name) =~ s/\Q$s\E$// or next;
        return $base if ($types->{$base} // '') eq 'histogram';
    }
    return $name;
}

sub prom_parse {
    my ($text) = @_;
    my (@samples, @errors, %help, %types, %done, %seen);
    my $current = '';
    my $n = 0;

    push @errors, 'the text does not end with a line feed'
        unless $text =~ /\n\z/;

    for my $line (split /\n/, $text) {
        $n++;
        my $err = sub { push @errors, "line $n: $_[0]: $line" };

        next if $line eq '';

        if ($line =~ /^# HELP ($NAME) (.*)$/) {
            $err->('HELP twice') if $help{$1}++;
            $err->('bad escape in HELP') if $2 =~ /\\[^\\n]/;
            next;
        }
        if ($line =~ /^# TYPE ($NAME) (counter|gauge|histogram|summary|untyped)$/) {
            $err->('TYPE twice') if exists $types{$1};
            $err->('TYPE after samples') if $done{$1} || $current eq $1;
            $types{$1} = $2;
            $err->('counter not named *_total') if $2 eq 'counter'
                                                   && $1 !~ /_total$/;
            next;
        }
        if ($line =~ /^#/) {
            $err->('a comment that is neither HELP nor TYPE')
                if $line =~ /^# (HELP|TYPE)/;
            next;
        }

        my ($name, $rest) = $line =~ /^($NAME)(.*)$/
            or do { $err->('no metric name'); next };
        my %labels;
        if ($rest =~ s/^\{//) {
            until ($rest =~ s/^\}//) {
                $rest =~ s/^($LABEL)="((?:[^"\\\n]|\\[\\"n])*)"//
                    or do { $err->('bad label'); last };
                my ($k, $v) = ($1, $2);
                $err->("label $k twice") if exists $labels{$k};
                $v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
                $labels{$k} = $v;
                $rest =~ s/^,(?=[a-zA-Z_])//;
            }
        }
        my ($value) = $rest =~ /^ ($VALUE)(?: -?[0-9]+)?$/
            or do { $err->('bad value'); next };

        my $family = _family($name, \%types);
        $err->('no TYPE before the samples') unless exists $types{$family};
        $err->('no HELP before the samples') unless $help{$family};
        if ($family ne $current) {
            $err->("family $family is not contiguous") if $done{$family};
            $done{$current} = 1 if $current ne '';
            $current = $family;
        }
        my $key = join "\0", $name,
                  map { "$_=$labels{$_}" } sort keys %labels;
        $err->('duplicate series') if $seen{$key}++;
        $err->('a counter below zero') if ($types{$family} // '') eq 'counter'
                                          && $value < 0;

        push @samples, { name => $name, labels => \%labels, value => $value,
                         family => $family, type => $types{$family} };
    }

    # histograms: cumulative buckets, +Inf == _count, a _sum

    my %h;
    for my $s (grep { ($_->{type} // '') eq 'histogram' } @samples) {
        my %l = %{ $s->{labels} };
        my $le = delete $l{le};
        my $id = join "\0", $s->{family},
                 map { "$_=$l{$_}" } sort keys %l;
        if ($s->{name} =~ /_bucket$/) {
            push @errors, "$s->{name}: a bucket without le" unless defined $le;
            push @{ $h{$id}{buckets} }, [ $le, $s->{value} ];
        } elsif ($s->{name} =~ /_count$/) {
            $h{$id}{count} = $s->{value};
        } elsif ($s->{name} =~ /_sum$/) {
            $h{$id}{sum} = $s->{value};
        }
    }
    for my $id (sort keys %h) {
        my $x = $h{$id};
        (my $what = $id) =~ s/\0/ /g;
        my $prev = -1;
        my $prev_le = -1;
        for my $b (@{ $x->{buckets} // [] }) {
            my $le = $b->[0] eq '+Inf' ? 9**9**9 : $b->[0];
            push @errors, "$what: buckets not in le order" if $le <= $prev_le;
            push @errors, "$what: buckets not cumulative" if $b->[1] < $prev;
            ($prev_le, $prev) = ($le, $b->[1]);
        }
        my $last = $x->{buckets} ? $x->{buckets}[-1] : undef;
        push @errors, "$what: no le=\"+Inf\" bucket"
            unless $last && $last->[0] eq '+Inf';
        push @errors, "$what: +Inf bucket != _count"
            unless $last && defined $x->{count} && $last->[1] == $x->{count};
        push @errors, "$what: no _sum" unless defined $x->{sum};
    }

    return (\@samples, \@errors);
}

# prom_value($samples, $name, %labels): the value of the one sample of
# that name whose labels include %labels (undef if none or several)
sub prom_value {
    my ($samples, $name, %want) = @_;
    my @m = grep {
        my $s = $_;
        $s->{name} eq $name
            && !grep { ($s->{labels}{$_} // "\0") ne $want{$_} } keys %want
    } @$samples;
    return @m == 1 ? $m[0]{value} : undef;
}

1;
