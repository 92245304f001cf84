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

# $k parallel clients send requests over both instances until stop() is
# called; stop() waits for them and returns the number of requests sent
# and how many did not get a 200: a phase lasts as long as the event it
# covers, whatever the speed of the machine
sub background_load {
    my ($k, @prompts) = @_;
    my $stop = $a->testdir . '/load.stop';
    unlink $stop;
    pipe(my $rd, my $wr) or die "pipe: $!";
    my @pids;
    for my $i (0 .. $k - 1) {
        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            close $rd;
            my ($n, $bad) = (0, 0);
            until (-e $stop) {
                my $t = ($i + $n) % 2 ? $b : $a;
                my $p = $prompts[($i + $n) % @prompts];
                my $r = $t->http_post('/v1/chat/completions', chat_body($p));
                $n++;
                $bad++ unless $r->{status} == 200;
            }
            syswrite($wr, "$n $bad\n");
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    close $wr;
    return sub {
        open(my $fh, '>', $stop) or die "$stop: $!";
        close $fh;
        my ($n, $bad) = (0, 0);
        while (my $line = <$rd>) {
            my ($x, $y) = split ' ', $line;
            $n += $x;
            $bad += $y;
        }
        waitpid($_, 0) for @pids;
        return ($n, $bad);
    };
}

# the requests both instances have served
sub served {
    return status($a)->{instance}{requests} + status($b)->{instance}{requests};
}

my @prompts = ('hello', 'What is the capital of France?',
               'Explain how TCP congestion control works in detail.',
               'Review this function: int f(int x) { return x * 2; }');

my $total = 200;

is(load($total, 4, @prompts), 0,
   "$total requests over two instances: all 200");

my ($sa, $sb);
ok(eventually(5, sub {
    $sa = status($a);
    $sb = status($b);
    return $sa->{fleet}{requests} == $total
           && $sb->{fleet}{requests} == $total;
}), "both instances report $total fleet requests")
    or diag("a: $sa->{fleet}{requests}, b: $sb->{fleet}{requests}");

is($sa->{instance}{requests} + $sb->{instance}{requests}, $total,
   "the instances split the $total");
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
is($fleet->{'a|requests'}, $total, "the fleet hash holds $total");
ok(!grep({ /hello|capital|Explain/ } %$fleet), 'no prompt text in Redis');
ok(!grep({ /^\{llm\}:dec:/ } @$keys),
   'no llm_feedback endpoint: the decisions stay in the zone, none in Redis')
    or diag("@$keys");

# Redis killed in the middle of load: no failed request; restarted with
# its AOF: exact again within two flush intervals

my $before = served();
my $stop = background_load(4, @prompts);
eventually(10, sub { served() >= $before + 20 });
$a->stop_redis($rport);

my $down;
ok(eventually(5, sub {
    $down = status($a);
    return $down->{redis}{state} eq 'down';
}), 'redis down is reported');
# refused or reset, as the kill found the connection
like($down->{redis}{error} // '', qr/connection|refused|reset|closed/i,
     "and why: $down->{redis}{error}");

# some load while Redis is down
$before = served();
eventually(10, sub { served() >= $before + 50 });

my ($sent, $bad) = $stop->();
is($bad, 0, "no failed request while Redis was down ($sent sent)");
$total += $sent;

my $pending = status($a)->{redis}{pending_deltas}
            + status($b)->{redis}{pending_deltas};
ok($pending > 0, "deltas wait in shared memory ($pending)");

$a->start_redis(@redis);

ok(eventually(5, sub {
    $sa = status($a);
    $sb = status($b);
    return $sa->{fleet}{requests} == $total
           && $sb->{fleet}{requests} == $total;
}), "after the restart: $total everywhere, nothing lost, nothing twice")
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
$total += 20;
$before = redis_cmd($rport, 'HGET', '{llm}:fleet', 'a|requests');
redis_cmd($rport, 'DEBUG', 'SLEEP', '1.5');
ok(eventually(6, sub {
    return status($a)->{fleet}{requests} == $total
        && status($b)->{fleet}{requests} == $total;
}), 'a timed-out batch is applied once') or diag(
    "before $before, now " . status($a)->{fleet}{requests});
my $batches = grep { /^\{llm\}:batch:/ } @{ redis_cmd($rport, 'KEYS', '*') };
ok($batches > 0, "batch markers expire on their own ($batches)");
like($a->read_file('error.log'), qr/command timed out/,
     'the timeout was hit');

# reloads under load lose nothing

$before = served();
$stop = background_load(4, @prompts);
for (1 .. 3) {
    eventually(10, sub { served() >= $before + 10 });
    ok($a->reload(conf($a)), "reload $_ under load");
    $before = served();
}
($sent, $bad) = $stop->();
is($bad, 0, "no failed request across reloads ($sent sent)");
$total += $sent;

ok(eventually(5, sub {
    return status($a)->{fleet}{requests} == $total;
}), "fleet exact after reloads: $total");

# a graceful shutdown flushes what is pending (a long interval on b)

$b->stop;
$b = LLMRouter::Test->new->workers(1);
$b->run(conf($b) =~ s/flush=200ms/flush=60s/r);
$b->http_post('/v1/chat/completions', chat_body('hello')) for 1 .. 7;
$b->stop;
$total += 7;
ok(eventually(3, sub {
    return redis_cmd($rport, 'HGET', '{llm}:fleet', 'a|requests') == $total;
}), 'graceful shutdown flushed the 7 pending requests');

$a->done_testing;
