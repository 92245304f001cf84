#!/usr/bin/perl

# The feedback loop: X-LLM-Request-Id on routed answers, the feedback
# endpoint (recorded, duplicate, unknown, malformed, secret, list, reset),
# promotion after N poor reports, implicit signals, and learning shared
# by two instances through Redis (a report to one instance about a
# request served by the other; a promotion on one applies on the other).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;


# a distinct model per tier, so that a promotion shows in the model

my $models = <<'EOF';
    llm_model cheap-model provider=openai upstream=cheap_pool tiers=trivial        input=0.15 output=0.60;
    llm_model mid-model   provider=openai upstream=mid_pool   tiers=simple-moderate input=3 output=15;
    llm_model big-model   provider=openai upstream=big_pool   tiers=complex-expert  input=15 output=75;
EOF

my $server = <<'EOF';
        location = /llm/feedback { llm_feedback; }
        location = /llm/feedback-guarded { llm_feedback secret=s3cret; }
        location = /llm/status { llm_status; }
EOF

my $t = LLMRouter::Test->new->workers(2);
start_providers($t);
$t->run(router_conf(models => $models, server => $server,
                    http => 'llm_health off; llm_feedback_learn '
                            . 'min_samples=5 low=0.6 explore=0 '
                            . 'implicit=off;'));

sub hello {
    my ($x) = @_;
    return $x->http_post('/v1/chat/completions', chat_body('hello'));
}

sub report {
    my ($x, $id, %fb) = @_;
    return $x->http_post('/llm/feedback', { request_id => $id, %fb });
}

my $r = hello($t);
is($r->{headers}{'x-llm-model'}, 'cheap-model', 'hello: cheap (trivial)');
my $id = $r->{headers}{'x-llm-request-id'};
like($id // '', qr/^[0-9a-f]{32}$/, "X-LLM-Request-Id: $id");

sub settled_report {
    my ($x, $rid, %fb) = @_;
    my $y;
    # the decision is recorded in the log phase, right after the answer
    eventually(2, sub {
        $y = report($x, $rid, %fb);
        return $y->{status} != 404;
    });
    return $y;
}

$r = settled_report($t, $id, quality => 0.1);
is($r->{status}, 200, 'feedback: 200');
is($r->{json}{status}, 'recorded', 'recorded');
$r = report($t, $id, success => \0);
is($r->{json}{status}, 'duplicate', 'a second report on the id: duplicate');

$r = report($t, 'f' x 32, quality => 1);
is($r->{status}, 404, 'unknown id: 404');
is($r->{json}{error}{code}, 'llm_unknown_request_id', '404 JSON');

for my $bad ('{"request_id": 5, "quality": 1}',
             '{"request_id": "abc"}',
             '{"request_id": "abc", "quality": 3}',
             '{"request_id": "abc", "rating": 9}',
             'not json')
{
    $r = $t->http_post('/llm/feedback', $bad);
    is($r->{status}, 400, "malformed feedback: $bad");
}
is($r->{json}{error}{code}, 'llm_invalid_feedback', '400 JSON');

$r = $t->http_post('/llm/feedback-guarded', { request_id => $id,
                                               quality => 1 });
is($r->{status}, 403, 'secret: 403 without it');
$r = $t->http_post('/llm/feedback-guarded', { request_id => $id,
                   quality => 1 }, 'X-LLM-Feedback-Secret' => 's3cret');
is($r->{status}, 200, 'secret: accepted with it');

# four more poor reports on greetings: the bucket is promoted

for (1 .. 4) {
    my $x = hello($t);
    settled_report($t, $x->{headers}{'x-llm-request-id'}, rating => 1);
}

ok(eventually(2, sub {
    hello($t)->{headers}{'x-llm-model'} eq 'mid-model';
}), 'after 5 poor reports greetings go one tier up');
$r = hello($t);
like($r->{headers}{'x-llm-reason'}, qr/learned_up/, 'reason learned_up');

my $list = $t->http_get('/llm/feedback')->{json};
my ($b) = grep { $_->{domain} eq 'general' && $_->{tier} eq 'trivial' }
          @{ $list->{buckets} };
ok($b, 'GET lists the bucket');
is($b->{offset}, 1, 'offset 1');
is($b->{routes_to}, 'simple', 'routes to simple');
ok($b->{served}{trivial}{samples} >= 5, 'samples per tier');
ok($b->{served}{trivial}{quality} < 0.6, 'quality per tier');
is($list->{reports}{duplicate}, 2, 'duplicates counted (the guarded report was one)');
like($t->read_file('error.log'), qr/\[notice\].*learned: general prompts of tier trivial now go to tier simple/,
     'the change is logged');

my $quality = $t->http_get('/llm/status')->{json}{quality};
ok($quality->{available}, 'llm_status: quality per tier is available');
ok($quality->{tiers}{trivial}{samples} >= 5
   && $quality->{tiers}{trivial}{quality} < 0.6,
   'llm_status: the trivial tier\'s poor quality');

# reset is guarded

$r = $t->http_request('DELETE', '/llm/feedback');
is($r->{status}, 400, 'DELETE without confirmation: 400');
$r = $t->http_request('DELETE', '/llm/feedback',
                      headers => { 'X-LLM-Confirm' => 'reset' });
is($r->{status}, 200, 'DELETE with confirmation');
is(hello($t)->{headers}{'x-llm-model'}, 'cheap-model', 'back to cheap');

# implicit signals: truncated, empty and refusing answers are poor

$t->stop;
my $i = LLMRouter::Test->new->workers(1);
start_providers($i);
$i->run(router_conf(models => $models, server => $server,
                    http => 'llm_health off; llm_feedback_learn '
                            . 'min_samples=2 low=0.6 explore=0 '
                            . 'implicit_weight=1;'));
for my $h ([ 'X-Mock-Finish' => 'length' ], [ 'X-Mock-Text' => '' ],
           [ 'X-Mock-Text' => "I'm sorry, I cannot help with that." ])
{
    $i->http_post('/v1/chat/completions', chat_body('hello'), @$h);
}
ok(eventually(2, sub {
    hello($i)->{headers}{'x-llm-model'} eq 'mid-model';
}), 'implicit signals alone promote the bucket');
my $l = $i->http_get('/llm/feedback')->{json};
ok($l->{reports}{implicit} >= 3, 'implicit reports counted');
$i->stop;

# two instances learning together through Redis

my $a = LLMRouter::Test->new->workers(2);
my $c = LLMRouter::Test->new->workers(2);
my $rport = $a->port(6379);
$a->start_redis(port => $rport);
start_providers($a);

sub fleet_conf {
    my $x = router_conf(models => $models, server => $server,
        http => "llm_health off;\n    llm_redis 127.0.0.1:$rport "
                . "flush=100ms;\n    llm_feedback_learn min_samples=5 "
                . "low=0.6 explore=0 implicit=off;");
    $x =~ s/%%PORT_(808[1-3])%%/$a->port($1)/ge;
    return $x;
}

$a->run(fleet_conf());
$c->run(fleet_conf());

# requests served by c, reported to a: the decision comes from Redis

my @ids = map { hello($c)->{headers}{'x-llm-request-id'} } 1 .. 5;
ok(eventually(3, sub {
    my $y = report($a, $ids[0], quality => 0);
    return $y->{status} == 200;
}), 'a report on a request another instance served is found');
# a decision reaches the fleet with its instance's next flush
for my $rid (@ids[1 .. 4]) {
    eventually(3, sub {
        $r = report($a, $rid, quality => 0);
        return $r->{status} != 404;
    });
    is($r->{json}{status}, 'recorded', 'recorded through the fleet');
}
$r = report($c, $ids[0], quality => 0);
is($r->{json}{status}, 'duplicate', 'counted once in the whole fleet');

ok(eventually(3, sub {
    hello($c)->{headers}{'x-llm-model'} eq 'mid-model';
}), 'the promotion learned from reports to a applies on c');
ok(eventually(3, sub {
    hello($a)->{headers}{'x-llm-model'} eq 'mid-model';
}), 'and on a');
is($c->http_get('/llm/feedback')->{json}{source}, 'fleet',
   'c lists the fleet\'s sums');

$a->done_testing;
