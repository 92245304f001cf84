#!/usr/bin/perl

# The operator surface of llm_status's JSON: savings against the
# reference model, the tier mix, latency percentiles, the forecast, the
# timeline, the ring of recent decisions (?decisions=N) and its request
# ids; llm_route_explain_header (X-LLM-Route, the final model after a
# fallback); llm_reference_model; no prompt text anywhere.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;

my $t = LLMRouter::Test->new->workers(2);

start_providers($t);

my $fallback = <<'EOF';
        proxy_intercept_errors on;
        error_page 429 500 502 503 504 = @llm_fallback;
        add_header X-Request-Id $request_id always;
EOF

my $server = <<'EOF';
        llm_route_explain_header on;
        recursive_error_pages on;

        location @llm_fallback {
            llm_route fallback;
            proxy_pass http://$llm_upstream;
            proxy_intercept_errors on;
            error_page 429 500 502 503 504 = @llm_fallback;
        }

        location /plain/ {
            llm_route on;
            llm_route_explain_header off;
            set $early_id $request_id;
            add_header X-Early-Id $early_id;
            proxy_pass http://$llm_upstream;
        }

        location = /llm/status { llm_status; }
EOF

my $conf = router_conf(http => 'llm_health off;', location => $fallback,
                       server => $server);
$t->run($conf);

sub status {
    my ($args) = @_;
    return $t->http_get('/llm/status' . ($args // ''))->{json};
}

# the log phase of a request may end after its client got the answer
sub settled {
    my ($code, $args) = @_;
    my $s;
    for (1 .. 50) {
        $s = status($args);
        return $s if $code->($s);
        select(undef, undef, undef, 0.05);
    }
    return $s;
}

my $s = status();
is($s->{reference_model}, 'big-model',
   'the reference: the most expensive model by default');
is($s->{instance}{savings}{reference_usd}, 0, 'no cost yet');
is($s->{instance}{savings}{saved_pct}, undef, 'no percentage without cost');
is($s->{forecast}{rps}, 0, 'no rate yet');
is_deeply($s->{timeline}{points}, [], 'an empty timeline');
is(ref $s->{quality}{tiers}, 'HASH', 'quality: per tier, from the feedback loop');

# traffic: 4 trivial (cheap), 1 expert (big); usage 10 in, 20 out each

my $secret = 'zebra-umbrella-4242';
my @ids;
for my $i (1 .. 4) {
    my $r = $t->http_post('/v1/chat/completions', chat_body("hi $secret $i"));
    is($r->{status}, 200, "trivial request $i");
    push @ids, $r->{headers}{'x-request-id'};
}

my $r = $t->http_post('/v1/chat/completions', chat_body("hi $secret"),
                      'X-LLM-Min-Tier' => 'expert');
push @ids, $r->{headers}{'x-request-id'};
my $route = $r->{headers}{'x-llm-route'} // '';
like($route, qr/^tier=expert; model=big-model; score=\d\.\d{3}; (?x)
                 confidence=\d\.\d{3};\ reasons=\S+/,
     'X-LLM-Route: tier, model, score, confidence, reasons');
like($route, qr/reasons=.*min_tier/, 'the policy\'s reasons too');
unlike($route, qr/attempt=/, 'one attempt: no attempt count');
like($ids[-1], qr/^[0-9a-f]{32}$/, 'the request id ($request_id)');

$r = $t->http_post('/plain/chat/completions', chat_body('hi'));
is($r->{status}, 200, 'routed where the header is off');
ok(!exists $r->{headers}{'x-llm-route'}, 'llm_route_explain_header off');

$s = settled(sub { $_[0]{instance}{requests} >= 6 }, '?decisions=10');
my $i = $s->{instance};

# savings: 0.15/0.60 vs 15/75 per million; every request 10 in, 20 out

my $cheap = int((10 * 0.15 + 20 * 0.60) + 0.5) / 1e6;    # 14 micro-USD
my $big = (10 * 15 + 20 * 75) / 1e6;                      # 1650
my $actual = 5 * $cheap + $big;
my $ref = 6 * $big;

is($i->{requests}, 6, 'six routed');
is(sprintf('%.6f', $i->{savings}{actual_usd}), sprintf('%.6f', $actual),
   'actual cost');
is(sprintf('%.6f', $i->{savings}{reference_usd}), sprintf('%.6f', $ref),
   'reference cost: the same tokens on big-model');
is(sprintf('%.6f', $i->{savings}{saved_usd}), sprintf('%.6f', $ref - $actual),
   'saved USD');
is(sprintf('%.1f', $i->{savings}{saved_pct}),
   sprintf('%.1f', 100 * ($ref - $actual) / $ref), 'saved %');
is($i->{savings}{reference_model}, 'big-model', 'savings name the reference');
is(sprintf('%.6f', $i->{models}{'cheap-model'}{reference_cost_usd}),
   sprintf('%.6f', 5 * $big), 'reference cost per model');
is(sprintf('%.6f', $i->{tiers}{trivial}{reference_cost_usd}),
   sprintf('%.6f', 5 * $big), 'reference cost per tier');
is($i->{models}{'big-model'}{provider}, 'anthropic', 'models carry providers');

# tier mix

is($i->{tier_mix}{trivial}{requests}, 5, 'tier mix: trivial');
is($i->{tier_mix}{expert}{requests}, 1, 'tier mix: expert');
is(sprintf('%.2f', $i->{tier_mix}{trivial}{pct}), '83.33', 'tier mix: %');
my $pct = 0;
$pct += $i->{tier_mix}{$_}{pct} for keys %{ $i->{tier_mix} };
ok(abs($pct - 100) < 0.05, 'the percentages add up to 100');

# latency percentiles from the histogram

my $l = $i->{models}{'cheap-model'}{latency_ms};
ok(defined $l->{p50} && defined $l->{p99}, 'percentiles with data');
ok($l->{p50} <= $l->{p90} && $l->{p90} <= $l->{p95}
   && $l->{p95} <= $l->{p99}, 'percentiles in order');
my @bounds = (100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000,
              300000);
my $hist = $i->{models}{'cheap-model'}{latency_hist};
my ($top) = grep { $hist->[$_] } reverse 0 .. 10;
ok(defined $top && $l->{p99} <= $bounds[$top],
   'p99 within the highest bucket with answers');

# each percentile is the upper bound of the bucket holding it: answers that
# took a millisecond show "at most 100 ms", not an interpolated 50 or 99
my $answers = 0;
$answers += $_ for @$hist;
for my $q ([p50 => 0.5], [p90 => 0.9], [p95 => 0.95], [p99 => 0.99]) {
    my ($cum, $want) = (0, $bounds[-1]);
    for my $b (0 .. 10) {
        $cum += $hist->[$b];
        if ($cum >= $q->[1] * $answers) { $want = $bounds[$b]; last }
    }
    is($l->{$q->[0]}, $want, "$q->[0]: the bound of its bucket ($want ms)");
}
is($i->{models}{'mid-model'}{latency_ms}{p50}, undef, 'none without data');

# forecast and timeline

my $f = $s->{forecast};
is($f->{requests}, 6, 'the window holds the six requests');
ok($f->{rps} > 0, 'a rate');
ok(abs($f->{usd_per_day} - 24 * $f->{usd_per_hour}) < 1e-5,
   'daily = 24 hourly');
ok(abs($f->{usd_per_month} - 30 * $f->{usd_per_day}) < 1e-4,
   'monthly = 30 daily');
is($f->{scenario}, undef, 'no scenario without parameters');

my $n = 0;
my $cost = 0;
for my $p (@{ $s->{timeline}{points} }) {
    $n += $p->[1];
    $cost += $p->[3];
}
is($s->{timeline}{step_s}, 10, 'timeline steps of 10 s');
is($n, 6, 'the timeline counts the requests');
is(sprintf('%.6f', $cost), sprintf('%.6f', $actual), 'and their cost');

$f = status('?rps=10&input_tokens=1000&output_tokens=500')->{forecast}
     {scenario};
my $ref_req = (1000 * 15 + 500 * 75) / 1e6;
my $mix = (5 * (1000 * 0.15 + 500 * 0.60) + (1000 * 15 + 500 * 75)) / 6e6;
is($f->{rps}, 10, 'scenario: rps');
is(sprintf('%.8f', $f->{reference_usd_per_request}), sprintf('%.8f', $ref_req),
   'scenario: reference per request');
is(sprintf('%.8f', $f->{usd_per_request}), sprintf('%.8f', $mix),
   'scenario: priced on the model mix');
ok(abs($f->{usd_per_month} - $mix * 10 * 86400 * 30) < 0.01,
   'scenario: monthly');

$f = status('?rps=2')->{forecast}{scenario};
ok(abs($f->{usd_per_request} - $actual / 6) < 1e-6,
   'scenario without tokens: the observed cost per request');

for my $bad ('?rps=-1', '?rps=abc', '?decisions=x', '?input_tokens=1e',
             '?format=xml')
{
    $r = $t->http_get("/llm/status$bad");
    is($r->{status}, 400, "400 for $bad");
    is($r->{json}{error}{code}, 'llm_invalid_request', "  a JSON error");
}

# decisions: newest first, the request ids clients saw

my $all = $s->{decisions};
is(scalar(@$all), 6, 'six decisions');
is($all->[0]{model}, 'cheap-model', 'newest first (the /plain/ request)');

# in the order their log phases ended, which may differ a little from the
# order of the answers
is_deeply([ sort map { $_->{request_id} } @$all[1 .. 5] ], [ sort @ids ],
          'the request ids the clients got');
ok(!grep({ $all->[$_]{time} < $all->[$_ + 1]{time} } 0 .. 4),
   'newest first');

my ($d) = grep { ($_->{request_id} // '') eq $ids[4] } @$all;
is($d->{model}, 'big-model', 'the model');
is($d->{provider}, 'anthropic', 'its provider');
is($d->{tier}, 'expert', 'the tier');
is($d->{status}, 200, 'the status');
ok(defined $d->{latency_ms}, 'the latency');
is($d->{attempts}, 1, 'one attempt');
is(sprintf('%.6f', $d->{cost_usd}), sprintf('%.6f', $big), 'its cost');
ok((grep { $_ eq 'min_tier' } @{ $d->{reasons} }), 'its reasons');
ok($all->[2]{score} >= 0 && $all->[2]{score} <= 1, 'a score');
ok($all->[2]{confidence} >= 0 && $all->[2]{confidence} <= 1,
   'a confidence');
ok($all->[0]{time} > time() - 60 && $all->[0]{time} <= time() + 1,
   'the time');

is(scalar(@{ status('?decisions=2')->{decisions} }), 2, '?decisions=2');
ok(!exists status()->{decisions}, 'no decisions unless asked');
is(scalar(@{ status('?decisions=100000')->{decisions} }), 6,
   'a large N: what the ring holds');

# a rejected request is a decision too, without a model

$t->http_post('/v1/chat/completions', '{"messages": 5}');
$d = settled(sub { $_[0]{instance}{rejected} >= 1 }, '?decisions=1')
     ->{decisions}[0];
is($d->{model}, undef, 'rejected: no model');
is($d->{status}, 400, 'rejected: its status');
is_deeply($d->{reasons}, ['llm_invalid_request'], 'rejected: the error code');

# fallback: X-LLM-Route names the model that answered

mock_fail($t, 'cheap', 503);
$r = $t->http_post('/v1/chat/completions', chat_body('hello'));
mock_ok($t, 'cheap');
is($r->{status}, 200, 'fallback: answered');
$route = $r->{headers}{'x-llm-route'} // '';
like($route, qr/model=mid-model;/, 'X-LLM-Route: the final model');
like($route, qr/attempt=2; failed=cheap-model/, 'and the failed one');
unlike($route, qr/model=cheap-model/, 'not the first model');
is(scalar(() = $route =~ /tier=/g), 1, 'one header');

$d = settled(sub { ($_[0]{decisions}[0]{attempts} // 0) == 2 },
             '?decisions=1')->{decisions}[0];
is($d->{model}, 'mid-model', 'the decision: the final model');
is($d->{attempts}, 2, 'two attempts');

# never prompt text

for my $args ('?decisions=256', '?format=prometheus',
              '?format=json&decisions=256&rps=1')
{
    my $body = $t->http_get("/llm/status$args")->{content};
    unlike($body, qr/zebra|umbrella|4242/, "no prompt text in $args");
}

# request ids: $request_id (16 random bytes in hex), the one the client,
# the logs and the ring see; new for every request, across more than one
# getrandom() batch of the module; one that nginx made before is kept

my (%seen, $same);
$same = 0;
for my $i (1 .. 40) {
    $r = $t->http_post('/v1/chat/completions', chat_body("hi $i"));
    my $id = $r->{headers}{'x-llm-request-id'} // '';
    $same++ if $id =~ /^[0-9a-f]{32}$/
               && $id eq ($r->{headers}{'x-request-id'} // '');
    $seen{$id}++;
}
is($same, 40, 'X-LLM-Request-Id is $request_id, 32 hex digits');
is(scalar(keys %seen), 40, 'a new id for every request');

$r = $t->http_post('/plain/chat/completions', chat_body('hi'));
like($r->{headers}{'x-early-id'} // '', qr/^[0-9a-f]{32}$/,
     '$request_id taken before routing');
is($r->{headers}{'x-llm-request-id'}, $r->{headers}{'x-early-id'},
   '  is the id of the routed request');

# llm_reference_model: another reference; an unknown one is refused

my @old = $t->worker_pids;
ok($t->reload(router_conf(http => "llm_health off;\n"
                                  . "llm_reference_model mid-model;",
                          location => $fallback, server => $server)),
   'reload with llm_reference_model mid-model');
ok($t->pids_gone(\@old, 10), 'old workers gone');
is(status()->{reference_model}, 'mid-model', 'the reference changed');
# this request's own decision (logged in its log phase, maybe after the
# answer reached us), not the one before the reload
$r = $t->http_post('/v1/chat/completions', chat_body('hi'));
my $rid = $r->{headers}{'x-llm-request-id'} // '-';
$d = settled(sub { ($_[0]{decisions}[0]{request_id} // '') eq $rid },
             '?decisions=1')->{decisions}[0];
is(sprintf('%.6f', $d->{reference_cost_usd}),
   sprintf('%.6f', (10 * 3 + 20 * 15) / 1e6), 'charged on mid-model now');

my ($rc, $out) = $t->test_config(router_conf(
    http => 'llm_reference_model nosuch;'));
isnt($rc, 0, 'an unknown reference model is refused');
like($out, qr/llm_reference_model "nosuch" is not a registered model/,
     '  with a message');

$t->done_testing;
