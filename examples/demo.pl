#!/usr/bin/perl

# ./build.sh demo: runs examples/nginx.conf with the module just built,
# against three local mock providers, sends a handful of real-looking
# prompts through /v1/chat/completions and prints what the router did,
# and what it saved against sending everything to the most expensive model.
# Everything it starts is stopped at the end.
#
# ./build.sh demo --calibrated: the same with the registry that llmr
# calibrate generates from examples/aa-models-snapshot.json (and
# calibration-overrides.json) instead of the three llm_model lines, one
# mock provider per generated upstream.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use LLMRouter::Test;
use LLMRouter::MockLLM;

my $conf_file = "$FindBin::Bin/nginx.conf";
my $calibrated = grep { $_ eq '--calibrated' } @ARGV;

my @prompts = (
    [ 'greeting', 'Hi there! How are you today?' ],
    [ 'factual question', 'What is the capital of Australia?' ],
    [ 'explanation', 'Explain how a bloom filter works and when it is a '
      . 'better choice than a hash set.' ],
    [ 'code review', "Can you review this C function for bugs and suggest "
      . "improvements?\n\n```c\nint sum(int *a, int n) {\n    int s;\n"
      . "    for (int i = 0; i <= n; i++) s += a[i];\n    return s;\n}\n```" ],
    [ 'architecture design', 'Design a multi-region, event-sourced order '
      . 'processing system with exactly-once delivery. Compare the '
      . 'consistency models, explain the trade-offs between latency and '
      . 'availability, and give a step-by-step migration plan from our '
      . 'monolith, including failure modes and how to test each one.' ],
    [ 'math word problem', 'A tank holds 1,200 litres. Pipe A fills it in '
      . '6 hours and pipe B in 4 hours, while a drain empties it in 12 '
      . 'hours. If all three are opened when the tank is a quarter full, '
      . 'how long until it is full? Show each step.' ],
);

my $t = LLMRouter::Test->new;

die "build/ngx_http_llm_router_module.so is missing: run ./build.sh\n"
    unless $t->has_module;

# the example config, with the module just built, free ports and the test
# directory for logs and temp files

my $conf = $t->read_file($conf_file);
my (%price, %mock);

if ($calibrated) {
    my $dir = $t->testdir . '/calibrated';
    my $llmr = "$LLMRouter::Test::REPO/build/llmr";

    system("$llmr calibrate --input $FindBin::Bin/aa-models-snapshot.json "
           . "--overrides $FindBin::Bin/calibration-overrides.json "
           . "--save --out $dir >$dir.log 2>&1") == 0
        or die "llmr calibrate failed:\n" . $t->read_file("$dir.log");

    my $models = json_decode($t->read_file("$dir/models.json"))->{models};
    my %up = map { $_->{upstream} => 1 } @$models;
    my $blocks = "    llm_models $dir/models.json;\n";
    my $port = 9100;

    $price{ $_->{name} } = [ $_->{input}, $_->{output} ] for @$models;

    for my $u (sort keys %up) {
        $port++;
        $mock{$port} = $u;
        $blocks .= "    upstream $u { server 127.0.0.1:%%PORT_$port%%; "
                   . "keepalive 16; }\n";
    }

    $conf =~ s{^\s*#\s+name\s.*\n}{}m;
    $conf =~ s{^\s*llm_model\s.*\n}{}mg;
    $conf =~ s{^\s*upstream \w+\s+\{ server 127\.0\.0\.1:900\d;.*\n}{}mg;
    $conf =~ s{^(\s*llm_router_zone .*\n)}{$1$blocks}m;

    print "calibrated registry: ", scalar(@$models), " models from "
          . "examples/aa-models-snapshot.json, ", scalar(keys %up),
          " mock providers\n\n";

} else {
    while ($conf =~ /^\s*llm_model\s+(\S+)\s.*?input=([\d.]+)\s+output=([\d.]+)/mg)
    {
        $price{$1} = [ $2, $3 ];
    }

    %mock = (9001 => 'cheap', 9002 => 'mid', 9003 => 'big');
}

my ($ref) = sort { $price{$b}[0] * 3 + $price{$b}[1]
                   <=> $price{$a}[0] * 3 + $price{$a}[1] } keys %price;

$conf =~ s{^load_module .*$}{load_module ${\ $t->module_path};}m;
$conf =~ s{^worker_processes .*$}{%%TEST_GLOBALS%%}m;
$conf =~ s{^(http \{)}{$1\n    %%TEST_GLOBALS_HTTP%%}m;
$conf =~ s{/var/log/nginx/}{%%TESTDIR%%/}g;
$conf =~ s{127\.0\.0\.1:8080}{127.0.0.1:%%PORT_8080%%};
$conf =~ s{127\.0\.0\.1:(900\d)}{127.0.0.1:%%PORT_$1%%}g;

for my $p (sort keys %mock) {
    start_mock($t, name => $mock{$p}, port => $t->port($p),
               usage => '0,0');
}

eval { $t->run($conf); 1 } or do {
    print STDERR $@;
    $t->shutdown;
    exit 1;
};

my @rows;
my ($total, $total_ref) = (0, 0);

for my $p (@prompts) {
    my ($what, $text) = @$p;
    my $r = $t->http_post('/v1/chat/completions', {
        model => 'auto',
        messages => [ { role => 'system',
                        content => 'You are a helpful assistant.' },
                      { role => 'user', content => $text } ] });

    if ($r->{status} != 200) {
        print STDERR "request failed: $r->{status} $r->{content}\n";
        $t->shutdown;
        exit 1;
    }

    my $h = $r->{headers};
    my $in = $h->{'x-llm-input-tokens'};
    my $out = $h->{'x-llm-output-tokens'};
    my $cost = $h->{'x-llm-est-cost'};
    my $ref_cost = ($in * $price{$ref}[0] + $out * $price{$ref}[1]) / 1e6;

    $total += $cost;
    $total_ref += $ref_cost;

    push @rows, [ $what, $h->{'x-llm-tier'}, $h->{'x-llm-model'},
                  $h->{'x-mock-model'}, $h->{'x-llm-score'},
                  $h->{'x-llm-confidence'}, $h->{'x-llm-domain'},
                  $h->{'x-llm-reason'}, $cost, $ref_cost ];
}

$t->shutdown;

my $mw = $calibrated ? 24 : 10;
my $fmt = "%-20s %-9s %-${mw}s %-14s %5s %5s %-8s %-34s %9s %9s\n";

printf $fmt, 'prompt', 'tier', 'model', 'sent upstream', 'score', 'conf',
       'domain', 'reasons', 'est $', "$ref \$";
print '-' x 130, "\n";

for my $row (@rows) {
    printf $fmt, @$row[0 .. 7], sprintf('%.6f', $row->[8]),
           sprintf('%.6f', $row->[9]);
}

print '-' x 130, "\n";
printf "total estimated cost: \$%.6f routed, \$%.6f if everything went to "
       . "%s: %.1f%% saved\n", $total, $total_ref, $ref,
       $total_ref > 0 ? 100 * (1 - $total / $total_ref) : 0;
print "(\"sent upstream\" is the model field the mock provider received)\n";
