#!/usr/bin/perl

# Cost-optimisation suggestions: llm_status's "suggestions" and
# "suggestion_basis", and llmr suggest on the same status (a file and
# the URL).  Thin evidence first (a few requests and reports): none.
# Then trivial prompts served both at their tier (cheap-model) and, with
# X-LLM-Min-Tier, at moderate (mid-model), reported as equally good, over
# more than the minimum of samples and requests: "route trivial prompts
# to cheap-model instead of mid-model", and big-model, never chosen, as
# rarely chosen.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;

my $repo = "$FindBin::Bin/..";
my $llmr = "$repo/build/llmr";

plan skip_all => "no $llmr (./build.sh)" unless -x $llmr;

# the evidence minimums, as core/include/llmr/suggest.h names them

my %min;
open(my $h, '<', "$repo/core/include/llmr/suggest.h") or die $!;
while (<$h>) {
    $min{$1} = $2 if /^#define LLMR_SUGGEST_(MIN_\w+)\s+(\d+)/;
}
close $h;

my $models = <<'EOF';
    llm_model cheap-model provider=openai upstream=cheap_pool tiers=trivial         input=0.15 output=0.60;
    llm_model mid-model   provider=openai upstream=mid_pool   tiers=simple-moderate input=3 output=15;
    llm_model big-model   provider=openai upstream=big_pool   tiers=complex-expert  input=15 output=75;
EOF

my $server = <<'EOF';
        location = /llm/feedback { llm_feedback; }
        location = /llm/status { llm_status; }
EOF

my $t = LLMRouter::Test->new->workers(2);
start_providers($t);
$t->run(router_conf(models => $models, server => $server,
                    http => 'llm_health off; llm_feedback_learn '
                            . 'min_samples=1000 explore=0 implicit=off;'));

my $dir = $t->testdir;
my $n = 0;

# a trivial prompt, served at moderate with $up, reported as $quality

sub served {
    my ($up, $quality) = @_;
    my $r = $t->http_post('/v1/chat/completions', chat_body('hello'),
                          $up ? ('X-LLM-Min-Tier' => 'moderate') : ());
    is($r->{headers}{'x-llm-model'}, $up ? 'mid-model' : 'cheap-model',
       'served by ' . ($up ? 'mid-model' : 'cheap-model'))
        if $n++ % 20 == 0;
    my $id = $r->{headers}{'x-llm-request-id'};
    my $y;
    eventually(2, sub {
        $y = $t->http_post('/llm/feedback',
                           { request_id => $id, quality => $quality });
        return $y->{status} != 404;
    });
    is($y->{json}{status}, 'recorded', 'reported') if $n % 20 == 1;
}

sub status {
    my $want = shift;
    my $s;
    eventually(2, sub {
        $s = $t->http_get('/llm/status')->{json};
        return $s->{instance}{requests} >= $want;
    });
    return $s;
}

# the status's suggestions against llmr suggest's, from the same JSON

sub agree {
    my ($what) = @_;
    my $r = $t->http_get('/llm/status');
    $t->write_file('status.json', $r->{content});
    my $out = `$llmr suggest --status $dir/status.json --json`;
    is($?, 0, "$what: llmr suggest --json");
    is_deeply(LLMRouter::Test::json_decode($out), $r->{json}{suggestions},
              "$what: llmr suggest lists what llm_status lists");
    return $r->{json};
}

# thin evidence: a few requests and reports on each side

served(0, 0.9) for 1 .. 3;
served(1, 0.9) for 1 .. 3;

my $s = status(6);
is(ref $s->{suggestions}, 'ARRAY', '"suggestions": an array');
is_deeply($s->{suggestions}, [], 'thin evidence: no suggestion');
is($s->{suggestion_basis}{feedback}{trivial}{moderate}[0], 3,
   'the basis: 3 samples of trivial prompts at moderate');
is($s->{suggestion_basis}{feedback}{trivial}{trivial}[0], 3,
   'the basis: 3 at trivial');
is($s->{suggestion_basis}{requests}, 6, 'the basis: 6 requests');
agree('thin evidence');

my $text = `$llmr suggest --status $dir/status.json`;
like($text, qr/^no suggestions/, 'llmr suggest: none, said so');

# enough: the minimum of samples on both sides, and of requests

my $samples = $min{MIN_SAMPLES};
my $requests = $min{MIN_REQUESTS};
ok($samples && $requests, "minimums: $samples samples, $requests requests");

served(0, 0.88) for 4 .. $samples;
served(1, 0.9) for 4 .. $samples + 5;

my $more = $requests - 2 * $samples - 5;
for (1 .. $more) {
    $t->http_post('/v1/chat/completions', chat_body('hello'));
}

$s = status(2 * $samples + 5 + $more);
$s = agree('enough evidence');

my @list = @{ $s->{suggestions} };
my ($tier) = grep { $_->{kind} eq 'cheaper_tier' } @list;
ok($tier, 'a cheaper tier is suggested');
like($tier->{text} // '',
     qr/^route trivial prompts to cheap-model instead of mid-model: (?x)
        ~\$\d+\.\d\d\/day, \ est\. \ -0\.02 \ quality/,
     'its text: ' . ($tier->{text} // ''));
ok(($tier->{saving_usd_day} // 0) > 0, 'a saving per day');
is(sprintf('%.2f', $tier->{quality_delta} // 9), '-0.02', 'quality -0.02');
is($tier->{evidence}{samples_used}, $samples + 5, 'evidence: samples used');
is($tier->{evidence}{samples_cheaper}, $samples,
   'evidence: samples at the cheaper tier');
is($tier->{evidence}{tier_requests}, $samples + 5,
   'evidence: requests at moderate');

# the saving: moderate's share of the requests at the forecast's rate,
# times what a request cost on mid-model less the same tokens on cheap

my $b = $s->{suggestion_basis};
my $mod = $b->{tiers}{moderate};
my $per = $mod->{cost_usd} / $mod->{requests}
          - ($mod->{input_tokens} * 0.15 + $mod->{output_tokens} * 0.60)
            / $mod->{requests} / 1e6;
my $day = $mod->{requests} / $b->{requests}
          * $b->{window_requests} / $b->{window_s} * 86400 * $per;
is(sprintf('%.4f', $tier->{saving_usd_day}), sprintf('%.4f', $day),
   "the saving: $day a day");
is($b->{window_requests}, $s->{forecast}{requests},
   'the rate basis: the forecast\'s window');

my ($rare) = grep { $_->{kind} eq 'rare_model' } @list;
like($rare->{text} // '', qr/^model big-model served 0 of \d+ requests/,
     'big-model: rarely chosen');
is($rare->{saving_usd_day}, undef, 'no saving claimed for it');
ok(!grep({ $_->{kind} eq 'rare_model' && $_->{text} =~ /mid-model/ } @list),
   'mid-model is not rare');

is($list[0]{kind}, 'cheaper_tier', 'the largest saving first');

# llmr suggest over HTTP: the same kinds (the rate moves between fetches)

my $port = $t->nginx_port;
my $json = `$llmr suggest --status http://127.0.0.1:$port/llm/status --json`;
is($?, 0, 'llmr suggest --status URL');
is_deeply([ map { $_->{kind} } @{ LLMRouter::Test::json_decode($json) } ],
          [ map { $_->{kind} } @list ], 'the same suggestions over HTTP');

$text = `$llmr suggest --status http://127.0.0.1:$port/llm/status`;
like($text, qr/^1\. \[cheaper_tier\] route trivial prompts to cheap-model/m,
     'the text form');
like($text, qr/evidence: samples_used=\d+ samples_cheaper=\d+/,
     'the text form names the evidence');

`$llmr suggest --status $dir/nothing.json 2>/dev/null`;
isnt($?, 0, 'a missing file: an error');

$t->write_file('old.json', '{"version": "0.0.1"}');
my $err = `$llmr suggest --status $dir/old.json 2>&1`;
like($err, qr/no "suggestion_basis"/, 'a status without a basis: said so');

done_testing();
