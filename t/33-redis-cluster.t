#!/usr/bin/perl

# llm_redis against a real Redis Cluster of three primaries: every key
# shares the prefix's hash slot, so one node holds them all.  The module,
# given another node, follows MOVED to the slot's node; when the slot is
# moved to a third node (IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE), it
# follows ASK with ASKING, and the fleet's totals are exact on the new
# node.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep);

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::RESP;
use LLMRouter::Setup;

my $t = LLMRouter::Test->new->workers(1);
my $d = $t->testdir;

# the cluster bus on a port of the suite's too: by default it is the
# port + 10000, which may be taken (another test, an ephemeral port)
my @ports = map {
    $t->start_redis(port => $t->port(7000 + $_), 'cluster-enabled' => 'yes',
                    'cluster-port' => $t->port(17000 + $_),
                    'cluster-config-file' => 'nodes.conf',
                    'cluster-node-timeout' => 2000)
} 1 .. 3;

system('redis-cli --cluster create '
       . join(' ', map { "127.0.0.1:$_" } @ports)
       . " --cluster-yes >$d/cluster-create.log 2>&1") == 0
    or die "redis-cli --cluster create failed\n"
           . $t->read_file('cluster-create.log');

ok(eventually(10, sub {
    !grep { (eval { redis_cmd($_, 'CLUSTER', 'INFO') } // '')
            !~ /cluster_state:ok/ } @ports
}), 'a cluster of three primaries');

my $slot = redis_cmd($ports[0], 'CLUSTER', 'KEYSLOT', '{llm}:fleet');

sub node_of {
    my ($port) = @_;
    return redis_cmd($port, 'CLUSTER', 'MYID');
}

sub owner {
    for my $r (@{ redis_cmd($ports[0], 'CLUSTER', 'SLOTS') }) {
        return $r->[2][1] if $r->[0] <= $slot && $slot <= $r->[1];
    }
    return 0;
}

my $src = owner();
my ($other, $dst) = grep { $_ != $src } @ports;
ok($src && $other, "slot $slot is on $src; the module is given $other");

start_providers($t);
$t->run(router_conf(
    http => "llm_redis 127.0.0.1:$other flush=100ms timeout=500ms;",
    server => 'location = /llm/status { llm_status; }'));

my $failed = 0;

sub load {
    my ($n) = @_;
    for (1 .. $n) {
        my $r = $t->http_post('/v1/chat/completions', chat_body('hello'));
        $failed++ if ($r->{status} // 0) != 200;
    }
}

sub hget {
    my ($port) = @_;
    my $v = eval { redis_cmd($port, 'HGET', '{llm}:fleet', 'a|requests') };
    return defined $v && !ref $v ? $v : -1;
}

sub exact_on {
    my ($port, $name) = @_;
    my $s;
    ok(eventually(10, sub {
        $s = $t->http_get('/llm/status')->{json};
        return $s->{redis}{state} eq 'up'
               && hget($port) == $s->{instance}{requests}
               && $s->{fleet}{requests} == $s->{instance}{requests};
    }), $name) or diag explain [ $s->{redis}, $s->{instance}{requests},
                                 hget($port) ];
}

load(10);
exact_on($src, 'MOVED followed: the fleet counts are on the slot\'s node');
like($t->read_file('error.log'),
     qr/redis cluster: the slot of "\{llm\}" is at 127\.0\.0\.1:$src, following/,
     '  and the error log says where');

# the slot moves to the third node: IMPORTING there, MIGRATING here, the
# keys migrated; the module is sent there by ASK and sends ASKING

my ($src_id, $dst_id) = (node_of($src), node_of($dst));
is(redis_cmd($dst, 'CLUSTER', 'SETSLOT', $slot, 'IMPORTING', $src_id), 'OK',
   'the third node imports the slot');
is(redis_cmd($src, 'CLUSTER', 'SETSLOT', $slot, 'MIGRATING', $dst_id), 'OK',
   'its node migrates it');
my $keys = redis_cmd($src, 'CLUSTER', 'GETKEYSINSLOT', $slot, 1000);
ok(@$keys >= 2, scalar(@$keys) . ' keys to migrate');
is(redis_cmd($src, 'MIGRATE', '127.0.0.1', $dst, '', 0, 5000, 'KEYS',
             @$keys), 'OK', 'MIGRATE');

load(5);
ok(eventually(5, sub {
    (eval { redis_cmd($dst, 'INFO', 'commandstats') } // '')
        =~ /cmdstat_asking:calls=[1-9]/
}), 'ASK followed: the importing node got ASKING');
like($t->read_file('error.log'),
     qr/redis cluster: the slot of "\{llm\}" is moving to 127\.0\.0\.1:$dst/,
     '  and the error log says where');

for my $p (@ports) {
    redis_cmd($p, 'CLUSTER', 'SETSLOT', $slot, 'NODE', $dst_id);
}
is(owner(), $dst, 'the slot is on the third node');

load(5);
exact_on($dst, 'the fleet totals are exact on the new node');

is($failed, 0, 'no request failed');

$t->done_testing;
