#!/usr/bin/perl

# Fleet state: two nginx instances (two workers each) share counters
# through one real Redis. Exact totals, Redis killed and restarted under
# load, reloads under load, graceful shutdown flushing what is pending.

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

my $a = LLMRouter::Test->new->workers(2);
my $b = LLMRouter::Test->new->workers(2);

my $rport = $a->port(6379);
my @redis = (port => $rport, appendonly => 'yes', appendfsync => 'always',
             'enable-debug-command' => 'yes');
$a->start_redis(@redis);

start_providers($a);

# both instances use the same providers (instance a's mock ports)

sub conf {
    my ($t, %o) = @_;
    my $c = router_conf(
        http => "llm_redis 127.0.0.1:$rport flush=200ms timeout=500ms;"
                . ($o{http} // ''),
        server => 'location = /llm/status { llm_status; }');
    $c =~ s/%%PORT_(808[1-3])%%/$a->port($1)/ge;
    return $c;
}

$a->run(conf($a));
$b->run(conf($b));

sub status {
    my ($t) = @_;
    return $t->http_get('/llm/status')->{json};
}

# $n requests split over both instances from $k parallel clients; returns
# the number of requests that did not get a 200
sub load {
    my ($n, $k, @prompts) = @_;
    my @pids;
    for my $i (0 .. $k - 1) {
        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            my $bad = 0;
            for my $j (0 .. $n / $k - 1) {
                my $t = ($i + $j) % 2 ? $b : $a;
                my $p = $prompts[($i + $j) % @prompts];
                my $r = $t->http_post('/v1/chat/completions', chat_body($p));
                $bad++ unless $r->{status} == 200;
            }
            POSIX::_exit($bad > 250 ? 250 : $bad);
        }
        push @pids, $pid;
    }
    my $bad = 0;
    for (@pids) {
        waitpid($_, 0);
        $bad += $? >> 8;
    }
    return $bad;
}

my @prompts = ('hello', 'What is the capital of France?',
               'Explain how TCP congestion control works in detail.',
               'Review this function: int f(int x) { return x * 2; }');

is(load(500, 5, @prompts), 0, '500 requests over two instances: all 200');

my ($sa, $sb);
ok(eventually(5, sub {
    $sa = status($a);
    $sb = status($b);
    return $sa->{fleet}{requests} == 500 && $sb->{fleet}{requests} == 500;
}), 'both instances report 500 fleet requests')
    or diag("a: $sa->{fleet}{requests}, b: $sb->{fleet}{requests}");

is($sa->{instance}{requests} + $sb->{instance}{requests}, 500,
   'the instances split the 500');
ok($sa->{instance}{requests} > 0 && $sb->{instance}{requests} > 0,
   'both served some');

my $cost = sprintf('%.6f', $sa->{instance}{cost_usd} + $sb->{instance}{cost_usd});
is(sprintf('%.6f', $sa->{fleet}{cost_usd}), $cost,
   'fleet cost is the exact sum of the instances');
is(sprintf('%.6f', $sb->{fleet}{cost_usd}), $cost, 'on both instances');

for my $m (keys %{ $sa->{instance}{models} }) {
    my $want = $sa->{instance}{models}{$m}{requests}
             + $sb->{instance}{models}{$m}{requests};
    next unless $want;
    is($sa->{fleet}{models}{$m}{requests}, $want, "fleet model $m");
}

is($sa->{redis}{state}, 'up', 'redis: up');
is($sa->{redis}{pending_deltas}, 0, 'nothing pending');
ok($sa->{redis}{last_flush} >= time() - 5, 'last_flush recent');

my $keys = redis_cmd($rport, 'KEYS', '*');
ok(!grep({ !/^\{llm\}:/ } @$keys), 'every key carries the {llm} hash tag')
    or diag("@$keys");
my $fleet = { @{ redis_cmd($rport, 'HGETALL', '{llm}:fleet') } };
is($fleet->{'a|requests'}, 500, 'the fleet hash holds 500');
ok(!grep({ /hello|capital|Explain/ } %$fleet), 'no prompt text in Redis');

# Redis killed in the middle of load: no failed request; restarted with
# its AOF: exact again within two flush intervals

my $pid = fork() // die;
if ($pid == 0) {
    POSIX::_exit(load(400, 4, @prompts) > 250 ? 250 : 0);
}
sleep 0.5;
$a->stop_redis($rport);
sleep 1;

my $down = status($a);
is($down->{redis}{state}, 'down', 'redis down is reported');
ok($down->{redis}{error}, "and why: $down->{redis}{error}");

waitpid($pid, 0);
is($? >> 8, 0, 'no failed request while Redis was down');

my $pending = status($a)->{redis}{pending_deltas}
            + status($b)->{redis}{pending_deltas};
ok($pending > 0, "deltas wait in shared memory ($pending)");

$a->start_redis(@redis);

ok(eventually(5, sub {
    $sa = status($a);
    $sb = status($b);
    return $sa->{fleet}{requests} == 900 && $sb->{fleet}{requests} == 900;
}), 'after the restart: 900 everywhere, nothing lost, nothing twice')
    or diag("a: $sa->{fleet}{requests}, b: $sb->{fleet}{requests}");
is($sa->{redis}{state}, 'up', 'redis up again');
is($sa->{redis}{pending_deltas} + $sb->{redis}{pending_deltas}, 0,
   'nothing pending');
my $log = $a->read_file('error.log');
like($log, qr/\[warn\].*redis 127\.0\.0\.1 is down/, 'down logged at warn');
like($log, qr/\[warn\].*redis 127\.0\.0\.1 is up/, 'up logged at warn');
my $downs = () = $log =~ /redis 127\.0\.0\.1 is down/g;
ok($downs <= 2, "down logged once per state change, not per flush ($downs)");

# a batch sent but never acknowledged: Redis sleeps past the flush timeout,
# runs the script afterwards, and the module (which gave up and
# reconnected) sends the same batch again: it must count once

$a->http_post('/v1/chat/completions', chat_body('hello')) for 1 .. 20;
my $before = redis_cmd($rport, 'HGET', '{llm}:fleet', 'a|requests');
redis_cmd($rport, 'DEBUG', 'SLEEP', '1.5');
ok(eventually(6, sub {
    return status($a)->{fleet}{requests} == 920
        && status($b)->{fleet}{requests} == 920;
}), 'a timed-out batch is applied once') or diag(
    "before $before, now " . status($a)->{fleet}{requests});
my $batches = grep { /^\{llm\}:batch:/ } @{ redis_cmd($rport, 'KEYS', '*') };
ok($batches > 0, "batch markers expire on their own ($batches)");
like($a->read_file('error.log'), qr/command timed out/,
     'the timeout was hit');

# reloads under load lose nothing

$pid = fork() // die;
if ($pid == 0) {
    POSIX::_exit(load(200, 4, @prompts) > 250 ? 250 : 0);
}
for (1 .. 3) {
    sleep 0.3;
    $a->reload(conf($a));
}
waitpid($pid, 0);
is($? >> 8, 0, 'no failed request across reloads');

ok(eventually(5, sub {
    return status($a)->{fleet}{requests} == 1120;
}), 'fleet exact after reloads: 1120');

# a graceful shutdown flushes what is pending (a long interval on b)

$b->stop;
$b = LLMRouter::Test->new->workers(1);
$b->run(conf($b) =~ s/flush=200ms/flush=60s/r);
$b->http_post('/v1/chat/completions', chat_body('hello')) for 1 .. 7;
$b->stop;
ok(eventually(3, sub {
    return redis_cmd($rport, 'HGET', '{llm}:fleet', 'a|requests') == 1127;
}), 'graceful shutdown flushed the 7 pending requests');

$a->done_testing;
