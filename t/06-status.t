#!/usr/bin/perl

# llm_status on one instance without Redis: the status contract, counters
# per model, tier and domain, error classes, latency, reload survival.

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

# health has its own test (t/09-health.t): here failures must not move
# traffic, so that every count below is exact
my $conf = router_conf(http => 'llm_health off;',
                       location => 'proxy_read_timeout 1s;',
                       server => 'location = /llm/status { llm_status; }');
$t->run($conf);

sub status {
    my $r = $t->http_get('/llm/status');
    is($r->{status}, 200, 'status: 200') if $_[0];
    return $r->{json};
}

# the log phase of a request may end after its client got the answer:
# counts are read once they have settled
sub settled {
    my ($code) = @_;
    my $s;
    for (1 .. 50) {
        $s = status()->{instance};
        return $s if $code->($s);
        select(undef, undef, undef, 0.05);
    }
    return $s;
}

my $s = status(1);
ok($s, 'status is JSON');
is($s->{instance}{requests}, 0, 'no requests yet');
is($s->{redis}{state}, 'off', 'redis: off without llm_redis');
ok(exists $s->{learned_state} && !defined $s->{learned_state},
   'learned_state: null without llm_feedback_state');
ok(!exists $s->{fleet}, 'no fleet section without llm_redis');
ok(exists $s->{instance}{models}{'cheap-model'}, 'configured models listed');
is(scalar(keys %{ $s->{instance}{tiers} }), 5, 'five tiers');
like($s->{instance_id}, qr/^[0-9a-f]{16}$/, 'instance id');

# traffic: 6 trivial requests, 2 with an image (mid), 1 expert floor (big)

$t->http_post('/v1/chat/completions', chat_body("hello $_")) for 1 .. 6;
$t->http_post('/v1/chat/completions', { model => 'x', messages => [
    { role => 'user', content => [ { type => 'text', text => 'describe' },
      { type => 'image_url', image_url => { url => 'http://x/a.png' } } ] }
] }) for 1 .. 2;
$t->http_post('/v1/chat/completions', chat_body('hello'),
              'X-LLM-Min-Tier' => 'expert');

# failures by class

$t->http_post('/v1/chat/completions', chat_body('hi'), 'X-Mock-Status' => 429);
$t->http_post('/v1/chat/completions', chat_body('hi'), 'X-Mock-Status' => 503);
$t->http_post('/v1/chat/completions', chat_body('hi'), 'X-Mock-Status' => 401);
my $r = $t->http_post('/v1/chat/completions', chat_body('hi'),
                      'X-Mock-Delay' => 3);
is($r->{status}, 504, 'a slow provider times out: 504');

# rejected requests are not routed

$t->http_post('/v1/chat/completions', '{"messages": 5}');

$s = settled(sub { $_[0]{requests} >= 13 && $_[0]{rejected} >= 1 });
is($s->{requests}, 13, 'routed requests counted once each');
is($s->{rejected}, 1, 'the rejected request');
is($s->{models}{'cheap-model'}{requests}, 10, 'cheap: 10');
is($s->{models}{'mid-model'}{requests}, 2, 'mid: 2');
is($s->{models}{'big-model'}{requests}, 1, 'big: 1');
is($s->{tiers}{trivial}{requests}, 10, 'tier trivial: 10');
is($s->{tiers}{expert}{requests}, 1, 'tier expert: 1');

my $c = $s->{models}{'cheap-model'};
is($c->{errors_429}, 1, '429 counted');
is($c->{errors_5xx}, 1, '5xx counted');
is($c->{errors_4xx}, 1, '4xx counted');
is($c->{errors_timeout}, 1, 'timeout counted');
is($c->{errors}, 4, 'errors total');
is($s->{totals}{errors}, 4, 'instance errors');

# cost: served requests are charged, failed attempts are not

my $sum = 0;
$sum += $s->{models}{$_}{cost_usd} for keys %{ $s->{models} };
ok(abs($sum - $s->{cost_usd}) < 1e-5, 'model costs add up to the total');
ok($s->{models}{'big-model'}{cost_usd} > $s->{models}{'cheap-model'}{cost_usd},
   'the big model costs more');
ok($c->{cost_usd} > 0, 'cheap model charged');
my $tsum = 0;
$tsum += $s->{tiers}{$_}{cost_usd} for keys %{ $s->{tiers} };
ok(abs($tsum - $s->{cost_usd}) < 1e-5, 'tier costs add up to the total');

# latency histogram

my $hist = $c->{latency_hist};
is(scalar(@$hist), 12, '12 latency buckets');
my $n = 0;
$n += $_ for @$hist;
is($n, 10, 'every upstream answer in the histogram');
ok($hist->[-3] + $hist->[-4] + $hist->[-5] + $hist->[-6] + $hist->[-7]
   + $hist->[-8] >= 1, 'the timed-out attempt is in a slow bucket');

# domains

my $dsum = 0;
$dsum += $s->{domains}{$_}{requests} for keys %{ $s->{domains} };
is($dsum, 13, 'domains add up');

# a reload keeps the counters

my @old = $t->worker_pids;
ok($t->reload($conf), 'reload');
ok($t->pids_gone(\@old, 10), 'old workers gone');
$t->http_post('/v1/chat/completions', chat_body('hello again'));
$s = settled(sub { $_[0]{requests} >= 14 });
is($s->{requests}, 14, 'counters survived the reload');
is($s->{models}{'cheap-model'}{requests}, 11, 'per model too');

# a model removed by a reload keeps its history; a new one appears

@old = $t->worker_pids;
ok($t->reload(router_conf(
    http => 'llm_health off;',
    location => 'proxy_read_timeout 1s;',
    server => 'location = /llm/status { llm_status; }',
    models => "    llm_model solo provider=openai upstream=cheap_pool "
              . "tiers=trivial-expert input=1 output=2 caps=vision,tools;\n")),
   'reload with another registry');
ok($t->pids_gone(\@old, 10), 'old workers gone');
$t->http_post('/v1/chat/completions', chat_body('hello'));
$s = settled(sub { ($_[0]{models}{solo}{requests} // 0) >= 1 });
is($s->{models}{solo}{requests}, 1, 'the new model counts');
is($s->{models}{'cheap-model'}{requests}, 11, 'the old one keeps its count');

# HEAD, other methods

$r = $t->http_request('HEAD', '/llm/status');
is($r->{status}, 200, 'HEAD: 200');
is($r->{content} // '', '', 'HEAD: no body');
$r = $t->http_post('/llm/status', '{}');
is($r->{status}, 405, 'POST: 405');

$t->done_testing;
