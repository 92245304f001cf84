#!/usr/bin/perl

# Budgets (reject, downgrade, per key, two instances sharing one budget
# through Redis leases), confidence-gated escalation, the A/B split.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;


# "hello" on cheap-model: estimated 0.000078 USD (4 input tokens, 128
# default output); the mock reports 100/100 tokens: 0.000075 USD actual

my $t = LLMRouter::Test->new->workers(2);
start_providers($t, usage => '100,100');
$t->run(router_conf(
    http => 'llm_health off;',
    location => 'llm_budget 0.001/h key=$http_x_team name=team;',
    server => <<'EOF'));
        location = /llm/status { llm_status; }

        location /down/ {
            llm_route on;
            llm_budget 1/h name=down mode=downgrade downgrade_at=50%;
            proxy_pass http://$llm_upstream/v1/chat/completions;
            add_header X-LLM-Model $llm_model always;
            add_header X-LLM-Reason $llm_reason always;
        }

        location /esc-always/ {
            llm_route on;
            llm_route_escalate threshold=0.999 to=big-model;
            proxy_pass http://$llm_upstream/v1/chat/completions;
            add_header X-LLM-Model $llm_model always;
            add_header X-LLM-Reason $llm_reason always;
        }

        location /esc-ask/ {
            llm_route on;
            llm_route_escalate threshold=0.999 mode=ask;
            proxy_pass http://$llm_upstream/v1/chat/completions;
            add_header X-LLM-Model $llm_model always;
        }

        location /esc-log/ {
            llm_route on;
            llm_route_escalate threshold=99.9% mode=log_only;
            proxy_pass http://$llm_upstream/v1/chat/completions;
            add_header X-LLM-Model $llm_model always;
            add_header X-LLM-Reason $llm_reason always;
        }

        location /ab/ {
            llm_route on;
            llm_route_ab split=0.3;
            proxy_pass http://$llm_upstream/v1/chat/completions;
            add_header X-LLM-Tier $llm_tier always;
            add_header X-LLM-AB $llm_ab_variant always;
        }
EOF

sub team {
    my ($team, $n) = @_;
    my ($ok, $rejected, $last) = (0, 0);
    for (1 .. $n) {
        $last = $t->http_post('/v1/chat/completions', chat_body('hello'),
                              'X-Team' => $team);
        $ok++ if $last->{status} == 200;
        $rejected++ if $last->{status} == 429;
    }
    return ($ok, $rejected, $last);
}

# 0.001 USD: one after the other, each settles at 0.000075, so 13 fit
# (12 x 75 + a 78 reservation <= 1000 micro-USD), the 14th does not

my ($ok, $rejected, $r) = team('alpha', 20);
is($ok, 13, 'reject: 13 requests within the budget');
is($rejected, 7, 'reject: the rest get 429');
is($r->{json}{error}{code}, 'llm_budget_exceeded', 'llm_budget_exceeded');
like($r->{json}{error}{message}, qr/budget "team" is spent/, 'message');
ok($r->{headers}{'retry-after'} > 0 && $r->{headers}{'retry-after'} <= 3600,
   "Retry-After: $r->{headers}{'retry-after'}");

($ok) = team('beta', 3);
is($ok, 3, 'another key has its own budget');

my $r0 = $t->http_post('/v1/chat/completions', chat_body('hello'));
is($r0->{status}, 200, 'no key: not under the keyed budget');

my $b;
ok(eventually(3, sub {
    $b = $t->http_get('/llm/status')->{json}{budgets};
    my @k = grep { /^team:/ } keys %$b;
    return @k == 2 && !grep { $b->{$_}{reserved_usd} > 0 } @k;
}), 'status lists the two keys, nothing reserved once settled');
my ($alpha) = grep { $b->{$_}{spent_usd} > 0.0008 } keys %$b;
ok($alpha, 'alpha found');
ok(abs($b->{$alpha}{spent_usd} - 13 * 0.000075) < 1e-6,
   "spent is the actual cost: $b->{$alpha}{spent_usd}");
is($b->{$alpha}{limit_usd}, 0.001, 'limit');
is($b->{$alpha}{period}, 3600, 'period');
ok($b->{$alpha}{projected_usd} >= $b->{$alpha}{spent_usd}, 'projection');
ok(!grep({ /alpha|beta/ } keys %$b), 'keys are hashed, never shown');

my $s = $t->http_get('/llm/status')->{json}{instance};
is($s->{budget_rejects}, 7, 'budget rejects counted');

# downgrade: past half the budget, the cheapest model that can serve;
# 1000/20000 tokens cost 0.303 USD on mid, 0.01215 on cheap

my @models;
for (1 .. 60) {
    my $x = $t->http_post('/down/x', chat_body('hello'),
                          'X-LLM-Min-Tier' => 'moderate',
                          'X-Mock-Usage' => '1000,20000');
    push @models, $x->{headers}{'x-llm-model'} // $x->{status};
    last if $x->{status} == 429;
}
is("@models[0, 1]", 'mid-model mid-model',
   'downgrade: mid before the threshold');
ok((grep { $_ eq 'cheap-model' } @models) >= 1,
   'downgrade: cheap once past 50%');
my $first_cheap = (grep { $models[$_] eq 'cheap-model' } 0 .. $#models)[0];
ok(!grep({ $_ eq 'mid-model' } @models[$first_cheap .. $#models]),
   'downgrade: it stays downgraded');
is($models[-1], 429, 'downgrade: 429 at the limit');

# escalation

$r = $t->http_post('/esc-always/x', chat_body('hello'));
is($r->{headers}{'x-llm-model'}, 'big-model', 'escalate always: to=big');
like($r->{headers}{'x-llm-reason'}, qr/escalated/, 'reason escalated');
$r = $t->http_post('/esc-ask/x', chat_body('hello'));
is($r->{headers}{'x-llm-model'}, 'cheap-model', 'escalate ask: not moved');
is($r->{headers}{'x-llm-escalation'}, 'suggested', 'but suggested');
$r = $t->http_post('/esc-log/x', chat_body('hello'));
is($r->{headers}{'x-llm-model'}, 'cheap-model', 'log_only: not moved');
like($r->{headers}{'x-llm-reason'}, qr/low_confidence/, 'reason only');
$s = $t->http_get('/llm/status')->{json}{instance};
is($s->{escalations}, 1, 'escalations counted');
is($s->{escalations_suggested}, 1, 'suggestions counted');

# A/B: about 30% in arm b, one tier up

my %arm;
my %tier;
for (1 .. 200) {
    my $x = $t->http_post('/ab/x', chat_body('hello'));
    $arm{ $x->{headers}{'x-llm-ab'} }++;
    $tier{ $x->{headers}{'x-llm-ab'} }{ $x->{headers}{'x-llm-tier'} }++;
}
my $share = ($arm{b} // 0) / 200;
ok($share > 0.2 && $share < 0.4, "arm b: $share of 200 (0.3 asked)");
is(join(',', keys %{ $tier{a} }), 'trivial', 'arm a: the classifier tier');
is(join(',', keys %{ $tier{b} }), 'simple', 'arm b: one tier up');
ok(eventually(3, sub {
    my $ab = $t->http_get('/llm/status')->{json}{instance}{ab};
    return $ab->{a}{requests} + $ab->{b}{requests} == 200
        && $ab->{b}{requests} == $arm{b};
}), 'A/B arms counted in status');

$t->stop;

# two instances, one budget, concurrent load: never past the limit

my $ia = LLMRouter::Test->new->workers(2);
my $ib = LLMRouter::Test->new->workers(2);
my $rport = $ia->port(6379);
$ia->start_redis(port => $rport);
start_providers($ia, usage => '100,100');

sub fleet_conf {
    my $c = router_conf(
        http => "llm_health off;\n    llm_redis 127.0.0.1:$rport "
                . "flush=100ms;",
        location => 'llm_budget 0.005/h name=shared;',
        server => 'location = /llm/status { llm_status; }');
    $c =~ s/%%PORT_(808[1-3])%%/$ia->port($1)/ge;
    return $c;
}

$ia->run(fleet_conf());
$ib->run(fleet_conf());

# warm the leases, then 4 clients per instance until both are refused

$ia->http_post('/v1/chat/completions', chat_body('hello'));
$ib->http_post('/v1/chat/completions', chat_body('hello'));
sleep 0.5;

my @pids;
for my $k (0 .. 7) {
    my $pid = fork() // die;
    if ($pid == 0) {
        my $x = $k % 2 ? $ib : $ia;
        my ($served, $refused) = (0, 0);
        for (1 .. 60) {
            my $y = $x->http_post('/v1/chat/completions', chat_body('hello'));
            $served++ if $y->{status} == 200;
            $refused++ if $y->{status} == 429;
        }
        POSIX::_exit($served > 200 ? 200 : $served);
    }
    push @pids, $pid;
}
my $served = 2;
for (@pids) {
    waitpid($_, 0);
    $served += $? >> 8;
}

my ($sa, $sb);
ok(eventually(3, sub {
    $sa = $ia->http_get('/llm/status')->{json}{budgets}{shared};
    $sb = $ib->http_get('/llm/status')->{json}{budgets}{shared};
    return $sa && $sb && $sa->{reserved_usd} == 0 && $sb->{reserved_usd} == 0;
}), 'both instances settled');
my $spent = $sa->{spent_usd} + $sb->{spent_usd};
ok($spent <= 0.005 + 1e-9, "fleet spend $spent within the 0.005 limit");
ok($spent >= 0.005 * 0.8, "and most of it usable ($spent)");
ok($sa->{spent_usd} > 0 && $sb->{spent_usd} > 0, 'both instances spent');
my $granted = redis_cmd($rport, 'KEYS', '{llm}:budget:shared:*');
is(scalar(@$granted), 1, 'one Redis key for the period');
my $g = redis_cmd($rport, 'GET', $granted->[0]);
ok($g <= 5000, "leases granted in total: $g micro-USD, never past 5000");
is(abs($served * 75 - $spent * 1e6) < 2, 1,
   "served requests ($served) x actual cost = spend");

$ia->done_testing;
