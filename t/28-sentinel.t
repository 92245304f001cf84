#!/usr/bin/perl

# llm_redis sentinel=...: a primary, its replica and three sentinels on
# loopback ports.  The module asks a sentinel where the primary is; a
# failover (SENTINEL FAILOVER, then the new primary killed) under load
# loses no request, and the fleet's totals are exact on each new primary.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::RESP;
use LLMRouter::Setup;

my $t = LLMRouter::Test->new->workers(2);
my $d = $t->testdir;

my $p1 = $t->start_redis(port => $t->port(6379),
                         'repl-diskless-sync-delay' => 0);
my $p2 = $t->start_redis(port => $t->port(6380),
                         'repl-diskless-sync-delay' => 0,
                         replicaof => "127.0.0.1 $p1");

my @sent;
for my $i (1 .. 3) {
    my $port = $t->port(26379 + $i);
    $t->write_file("sentinel$i.conf", <<"EOF");
port $port
bind 127.0.0.1
dir $d
logfile $d/sentinel$i.log
sentinel monitor m 127.0.0.1 $p1 2
sentinel down-after-milliseconds m 1000
sentinel failover-timeout m 4000
sentinel parallel-syncs m 1
EOF
    $t->run_daemon($t->{redis_binary}, "$d/sentinel$i.conf", '--sentinel');
    push @sent, $port;
}

ok(eventually(10, sub {
    !grep { (eval { redis_cmd($_, 'PING') } // '') ne 'PONG' } @sent
}), 'three sentinels');

sub primary {
    my $r = eval { redis_cmd($sent[0], 'SENTINEL',
                             'get-master-addr-by-name', 'm') };
    return ref $r ? $r->[1] : 0;
}

is(primary(), $p1, 'the sentinels know the primary');

start_providers($t);
$t->run(router_conf(
    http => 'llm_redis sentinel='
            . join(',', map { "127.0.0.1:$_" } @sent)
            . ' master=m flush=100ms timeout=500ms;',
    server => 'location = /llm/status { llm_status; }'));

my $failed = 0;

sub load {
    my ($n) = @_;
    for (1 .. $n) {
        my $r = $t->http_post('/v1/chat/completions', chat_body('hello'));
        $failed++ if ($r->{status} // 0) != 200;
    }
}

sub fleet {
    my $s = $t->http_get('/llm/status')->{json};
    return ($s->{redis}{state} eq 'up' ? $s->{fleet}{requests} : -1, $s);
}

sub hget {
    my ($port) = @_;
    return eval { redis_cmd($port, 'HGET', '{llm}:fleet', 'a|requests') }
           // 0;
}

load(10);
my $s;
ok(eventually(5, sub { (fleet())[0] == 10 }),
   'asked a sentinel, connected to the primary, the fleet counts')
    or diag explain((fleet())[1]{redis});
is(hget($p1), 10, 'on the primary');
ok(eventually(10, sub { hget($p2) == 10 }), 'and on its replica');

# a failover the sentinels are asked for: the old primary becomes a
# replica (READONLY), the module asks again and follows

is(redis_cmd($sent[0], 'SENTINEL', 'FAILOVER', 'm'), 'OK',
   'SENTINEL FAILOVER');

my $t0 = time();
while (time() - $t0 < 4) {
    load(5);
    sleep 0.1;
}

ok(eventually(10, sub { primary() == $p2 }), 'the replica is the primary');
load(5);
ok(eventually(10, sub {
    my ($n) = fleet();
    return $n > 10 && $n == hget($p2)
           && $n == $t->http_get('/llm/status')->{json}{instance}{requests};
}), 'the module followed it: the fleet total on the new primary is exact')
    or diag explain [ (fleet())[1]{redis}, hget($p2) ];

# the new primary killed: the sentinels promote the other one after
# down-after-milliseconds; the module finds it

ok(eventually(10, sub { hget($p1) == hget($p2) }),
   'the old primary caught up as a replica');
$t->stop_redis($p2);

$t0 = time();
while (time() - $t0 < 3) {
    load(5);
    sleep 0.1;
}

ok(eventually(20, sub { primary() == $p1 }), 'the other one promoted');

# alone, it holds no batch a failover could lose: the new counts wait in
# shared memory until a replica is there again

load(5);
sleep 0.5;
ok(($t->http_get('/llm/status')->{json}{redis}{pending_deltas} // 0) > 0,
   'a primary without a replica: the counts wait');
$t->start_redis(port => $p2, 'repl-diskless-sync-delay' => 0,
                replicaof => "127.0.0.1 $p1");
ok(eventually(10, sub {
    my ($n) = fleet();
    return $n == $t->http_get('/llm/status')->{json}{instance}{requests}
           && $n == hget($p1);
}), 'after a primary killed: the fleet total is exact again')
    or diag explain [ (fleet())[1]{redis}, hget($p1) ];

is($failed, 0, 'no request failed through the failovers');

# nginx -t

for my $bad (
    [ 'sentinel=127.0.0.1:1 flush=1s', qr/sentinel= needs master=NAME/ ],
    [ '127.0.0.1:6379 master=m', qr/master= needs sentinel=/ ],
    [ '127.0.0.1:6379 sentinel=127.0.0.1:1 master=m',
      qr/sentinel= takes the place of the address/ ],
    [ 'sentinel=sentinel.example:26379 master=m',
      qr/invalid sentinel "sentinel.example:26379"/ ],
) {
    my ($rc, $out) = $t->test_config(router_conf(
        http => "llm_redis $bad->[0];"));
    isnt($rc, 0, "nginx -t refuses llm_redis $bad->[0]");
    like($out, $bad->[1], '  and says why') or diag $out;
}

# a sentinel that wants a password (requirepass): sentinel_password=;
# a wrong one is shown in redis.error, naming the sentinel

$t->stop;

my $sp = $t->port(26390);
$t->write_file('sentinel-auth.conf', <<"EOF");
port $sp
bind 127.0.0.1
dir $d
logfile $d/sentinel-auth.log
requirepass s3cret
sentinel monitor m2 127.0.0.1 $p1 1
EOF
$t->run_daemon($t->{redis_binary}, "$d/sentinel-auth.conf", '--sentinel');
ok(eventually(10, sub {
    (eval { redis_cmd($sp, 'AUTH', 's3cret') } // '') eq 'OK'
}), 'a sentinel with requirepass');
$t->write_file('sentinel.pass', "s3cret\n");

for my $case ([ 'sentinel_password=s3cret', 1 ],
              [ 'sentinel_password_file=sentinel.pass', 1 ],
              [ 'sentinel_user=default sentinel_password=s3cret', 1 ],
              [ 'sentinel_password=wrong', 0 ],
              [ '', 0 ]) {
    my ($auth, $good) = @$case;
    my $prefix = 'sa' . int(rand(1e9));
    $t->run(router_conf(
        http => "llm_redis sentinel=127.0.0.1:$sp master=m2 $auth"
                . " prefix=$prefix flush=100ms timeout=500ms;",
        server => 'location = /llm/status { llm_status; }'));
    $t->http_post('/v1/chat/completions', chat_body('hello')) for 1 .. 3;
    my $name = $auth || 'no sentinel password';
    if ($good) {
        ok(eventually(5, sub {
            my $s = $t->http_get('/llm/status')->{json};
            $s->{redis}{state} eq 'up' && $s->{fleet}{requests} == 3
        }), "$name: the sentinel answers, the fleet counts")
            or diag explain $t->http_get('/llm/status')->{json}{redis};
    } else {
        my $s;
        ok(eventually(5, sub {
            $s = $t->http_get('/llm/status')->{json};
            ($s->{redis}{error} // '') =~ /^sentinel 127\.0\.0\.1:$sp: /
        }), "$name: redis.error names the sentinel")
            or diag explain $s->{redis};
        like($s->{redis}{error} // '', qr/WRONGPASS|NOAUTH|invalid/i,
             "$name: and says why");
        unlike($s->{redis}{error} // '', qr/wrong/, "$name: never the password");
    }
    $t->stop;
}

for my $bad (
    [ '127.0.0.1:6379 sentinel_password=x',
      qr/sentinel_user= and sentinel_password= need sentinel=/ ],
    [ 'sentinel=127.0.0.1:1 master=m sentinel_user=u',
      qr/sentinel_user= needs sentinel_password=/ ],
    [ 'sentinel=127.0.0.1:1 master=m sentinel_password_file=missing.pass',
      qr/sentinel_password_file/ ],
) {
    my ($rc, $out) = $t->test_config(router_conf(
        http => "llm_redis $bad->[0];"));
    isnt($rc, 0, "nginx -t refuses llm_redis $bad->[0]");
    like($out, $bad->[1], '  and says why') or diag $out;
}

done_testing();
