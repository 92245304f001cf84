#!/usr/bin/perl

# llm_redis when Redis is not there, refuses us, is slow, is on a unix
# socket, or answers more than 16 KB at once; its configuration checks.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;


sub instance {
    my ($redis_line, %o) = @_;
    my $t = LLMRouter::Test->new->workers(2);
    start_providers($t);
    $t->run(router_conf(http => $redis_line,
                        server => 'location = /llm/status { llm_status; }',
                        %o));
    return $t;
}

sub served {
    my ($t, $n) = @_;
    my $ok = 0;
    my $t0 = time();
    for (1 .. $n) {
        $ok++ if $t->http_post('/v1/chat/completions',
                               chat_body("hello $_"))->{status} == 200;
    }
    return ($ok, (time() - $t0) / $n);
}

# nginx -t

my $t = LLMRouter::Test->new;
my ($rc, $out) = $t->test_config(router_conf(
    http => 'llm_redis redis.example.com:6379;'));
isnt($rc, 0, 'a host name without a resolver is refused');
like($out, qr/"llm_redis": the host name "redis\.example\.com" needs a "resolver" in the http block/,
     'and the message says why');
($rc, $out) = $t->test_config(router_conf(
    http => 'llm_redis 127.0.0.1:6379 flush=soon;'));
like($out, qr/invalid parameter "flush=soon" in "llm_redis"/, 'bad flush=');
($rc, $out) = $t->test_config(router_conf(
    http => 'llm_redis 127.0.0.1:6379 "prefix=a{b}";'));
like($out, qr/invalid parameter "prefix=a\{b\}"/, 'braces in prefix=');
($rc, $out) = $t->test_config(router_conf(
    http => 'llm_redis 127.0.0.1:6379 colour=blue;'));
like($out, qr/invalid parameter "colour=blue"/, 'unknown parameter');
($rc, $out) = $t->test_config(router_conf(
    http => 'llm_redis 127.0.0.1:6379 max_reply=1k;'));
like($out, qr/invalid parameter "max_reply=1k" in "llm_redis"/,
     'max_reply under 64k is refused');
($rc, $out) = $t->test_config(router_conf(
    http => 'llm_redis 127.0.0.1:6379; llm_redis 127.0.0.1:6380;'));
like($out, qr/"llm_redis" directive is duplicate/, 'duplicate');
($rc, $out) = $t->test_config(router_conf(
    http => 'llm_redis [::1]:6379 password=x db=2 prefix=prod flush=500ms '
            . 'timeout=2s;'));
is($rc, 0, 'all parameters, IPv6') or diag($out);
undef $t;

# never started: a closed port

$t = instance('llm_redis 127.0.0.1:%%PORT_6399%% flush=100ms timeout=300ms;');
my ($ok, $avg) = served($t, 20);
is($ok, 20, 'closed port: every request served');
my $s;
ok(eventually(3, sub {
    $s = $t->http_get('/llm/status')->{json};
    return $s->{redis}{state} eq 'down';
}), 'closed port: status says down');
like($s->{redis}{error} // '', qr/refused/i, "and why: $s->{redis}{error}");
is($s->{instance}{requests}, 20, 'counted in shared memory');
is($s->{redis}{pending_deltas}, 20, '20 pending');
is($s->{fleet}{requests}, 0, 'no fleet view yet');
my $downs = () = $t->read_file('error.log') =~ /is down/g;
is($downs, 1, 'logged once, not per attempt') or diag($downs);
undef $t;

# a wrong password

$t = LLMRouter::Test->new->workers(2);
my $rp = $t->start_redis(port => $t->port(6379));
redis_cmd($rp, 'CONFIG', 'SET', 'requirepass', 'sesame');
start_providers($t);
$t->run(router_conf(
    http => "llm_redis 127.0.0.1:$rp password=wrong flush=100ms;",
    server => 'location = /llm/status { llm_status; }'));
($ok) = served($t, 10);
is($ok, 10, 'wrong password: every request served');
ok(eventually(3, sub {
    $s = $t->http_get('/llm/status')->{json};
    return $s->{redis}{state} eq 'down' && $s->{redis}{error};
}), 'wrong password: down');
like($s->{redis}{error}, qr/WRONGPASS|invalid password/i,
     "and why: $s->{redis}{error}");

# the right password and a database

ok($t->reload(router_conf(
    http => "llm_redis 127.0.0.1:$rp password=sesame db=3 prefix=t1 "
            . "flush=100ms;",
    server => 'location = /llm/status { llm_status; }')), 'reload: fixed');
ok(eventually(3, sub {
    $s = $t->http_get('/llm/status')->{json};
    return $s->{fleet}{requests} == 10 && $s->{redis}{state} eq 'up';
}), 'the 10 requests counted while refused reach the fleet');
is($s->{redis}{state}, 'up', 'up');
undef $t;

# an ACL user, its password from a file; the default user disabled

$t = LLMRouter::Test->new->workers(1);
$rp = $t->start_redis(port => $t->port(6379));
# the rights README.md lists, no more
redis_cmd($rp, 'ACL', 'SETUSER', 'gw', 'on', '>s3cret-acl', '~{llm}:*',
          map { "+$_" } qw(eval select get set del expire incrby hget hset
                           hdel hgetall hincrby hkeys));
redis_cmd($rp, 'ACL', 'SETUSER', 'default', 'off');
$t->write_file('redis.pass', "s3cret-acl\n");
start_providers($t);
$t->run(router_conf(
    http => "llm_redis 127.0.0.1:$rp user=gw password_file=redis.pass "
            . "flush=100ms;",
    server => 'location = /llm/status { llm_status; }'));
($ok) = served($t, 5);
is($ok, 5, 'ACL user: every request served');
ok(eventually(3, sub {
    $s = $t->http_get('/llm/status')->{json};
    return $s->{fleet}{requests} == 5 && $s->{redis}{state} eq 'up';
}), 'ACL user: AUTH gw with the password from the file, the fleet counts')
    or diag explain $s->{redis};

ok($t->reload(router_conf(
    http => "llm_redis 127.0.0.1:$rp user=gw password=wrong-acl "
            . "flush=100ms;",
    server => 'location = /llm/status { llm_status; }')),
   'reload: a wrong password for the user');
served($t, 2);
ok(eventually(3, sub {
    $s = $t->http_get('/llm/status')->{json};
    return $s->{redis}{state} eq 'down' && $s->{redis}{error};
}), 'ACL user, wrong password: down');
like($s->{redis}{error} // '', qr/WRONGPASS/, "and why: $s->{redis}{error}");
my $seen = $t->http_get('/llm/status')->{content}
    . join('', grep { !/^\S+ \S+ \[debug\]/ }
           split(/^(?=\d{4}\/\d\d\/\d\d )/m, $t->read_file('error.log')));
unlike($seen, qr/s3cret-acl|wrong-acl/,
       'no password in llm_status or the error log');

for my $bad (
    [ 'user=gw flush=100ms', qr/user= needs password= or password_file=/ ],
    [ 'password=a password_file=redis.pass',
      qr/invalid parameter "password_file=redis.pass"/ ],
    [ 'password_file=nosuch.pass', qr/password_file ".*nosuch.pass" cannot be opened/ ],
    [ 'user= password=a', qr/invalid parameter "user="/ ],
) {
    my ($rc, $out) = $t->test_config(router_conf(
        http => "llm_redis 127.0.0.1:$rp $bad->[0];"));
    isnt($rc, 0, "nginx -t refuses llm_redis $bad->[0]");
    like($out, $bad->[1], '  and says why') or diag $out;
}

$t->write_file('empty.pass', "\n");
my ($trc, $tout) = $t->test_config(router_conf(
    http => "llm_redis 127.0.0.1:$rp password_file=empty.pass;"));
like($tout, qr/"llm_redis": password_file ".*empty.pass" must hold the secret alone \(it is empty\)/,
     'nginx -t: an empty password file');
undef $t;

# a host name, resolved by the workers through nginx's resolver (a DNS
# stub here) at every connect; a failover: the replica is promoted, the
# old primary demoted (it answers READONLY) and the name moved: the
# module connects again, follows the name, and the fleet's totals are
# exact on the new primary (the replica had the batch markers)

{
    $t = LLMRouter::Test->new->workers(1);
    my $dport = $t->udp_port(5353);
    my $answer = "$t->{_dir}/dns.answer";
    $t->write_file('dns.answer', "127.0.0.1\n");
    $t->run_daemon(\&dns_stub, $dport, 'redis.fleet.test', $answer);

    my $rp1 = $t->start_redis(port => $t->port(6379),
                              'repl-diskless-sync-delay' => 0);

    # its replica: the same port on another address
    my $pid2 = $t->run_daemon('redis-server', '--port', $rp1, '--bind',
        '127.0.0.2', '--save', '', '--appendonly', 'no', '--dir',
        $t->testdir, '--logfile', $t->testdir . '/redis2.log',
        '--repl-diskless-sync-delay', 0, '--replicaof', '127.0.0.1', $rp1);
    ok(eventually(5, sub {
        IO::Socket::INET->new(PeerAddr => '127.0.0.2', PeerPort => $rp1)
    }), 'a replica on 127.0.0.2');

    start_providers($t);
    $t->run(router_conf(
        http => "resolver 127.0.0.1:$dport valid=1s ipv6=off;\n"
                . "    llm_redis redis.fleet.test:$rp1 flush=100ms "
                . "timeout=300ms;",
        server => 'location = /llm/status { llm_status; }'));

    ($ok) = served($t, 4);
    ok(eventually(3, sub {
        $s = $t->http_get('/llm/status')->{json};
        return $s->{fleet}{requests} == 4 && $s->{redis}{state} eq 'up';
    }), 'a host name: resolved, connected, the fleet counts')
        or diag explain $s->{redis};
    is(redis_cmd($rp1, 'HGET', '{llm}:fleet', 'a|requests'), 4,
       'on the Redis the name points at');
    ok(eventually(10, sub {
        (redis_at('127.0.0.2', $rp1, 'HGET', '{llm}:fleet', 'a|requests')
         // 0) == 4
    }), 'and on its replica');

    # the failover

    $t->write_file('dns.answer', "127.0.0.2\n");
    redis_at('127.0.0.2', $rp1, 'REPLICAOF', 'NO', 'ONE');
    redis_cmd($rp1, 'REPLICAOF', '127.0.0.2', $rp1);
    sleep 1.2;                          # past valid=1s

    ($ok) = served($t, 3);
    is($ok, 3, 'requests served during the failover');
    ok(eventually(5, sub {
        $s = $t->http_get('/llm/status')->{json};
        return $s->{redis}{state} eq 'up' && $s->{fleet}{requests} == 7;
    }), 'READONLY: the module connected again and followed the name')
        or diag explain $s->{redis};
    is(redis_at('127.0.0.2', $rp1, 'HGET', '{llm}:fleet', 'a|requests'), 7,
       'the new primary holds the exact total');
    like($t->read_file('error.log'), qr/READONLY/,
         'the demoted primary was seen');

    # a name that does not resolve

    $t->write_file('dns.answer', "NXDOMAIN\n");
    sleep 1.2;
    $t->stop_daemon($pid2);
    ok(eventually(5, sub {
        $s = $t->http_get('/llm/status')->{json};
        return ($s->{redis}{error} // '') =~ /cannot resolve/;
    }), "an unknown name is said: " . ($s->{redis}{error} // ''));
    ($ok) = served($t, 3);
    is($ok, 3, 'and requests are served');
    undef $t;
}

# a Redis that accepts and never answers

$t = LLMRouter::Test->new->workers(1);
my $stub = $t->start_resp_stub(port => $t->port(6390), delay => 30);
start_providers($t);
$t->run(router_conf(
    http => "llm_redis 127.0.0.1:$stub flush=100ms timeout=200ms;",
    server => 'location = /llm/status { llm_status; }'));
my $t0 = time();
($ok, $avg) = served($t, 30);
is($ok, 30, 'silent Redis: every request served');
ok($avg < 0.5, sprintf('no request waited for it (%.3fs average)', $avg));
ok(eventually(3, sub {
    $s = $t->http_get('/llm/status')->{json};
    return ($s->{redis}{error} // '') =~ /timed out/;
}), "silent Redis: $s->{redis}{error}");
undef $t;

# a unix socket, and a fleet reply over 16 KB (40 models with long names)

$t = LLMRouter::Test->new->workers(2);
my $sock = $t->testdir . '/redis.sock';
$t->start_redis(port => $t->port(6379), unixsocket => $sock,
                unixsocketperm => 700);
start_providers($t);
my $models = join('', map {
    "    llm_model model-with-a-rather-long-name-to-fill-the-reply-of-redis-$_ "
    . "provider=openai upstream=cheap_pool tiers=trivial-expert "
    . "input=0.$_ output=1.$_ caps=vision,tools;\n" } 10 .. 59);
$t->run(router_conf(
    http => "llm_redis unix:$sock flush=100ms;",
    models => $models,
    location => 'llm_route_client_model on;',
    server => 'location = /llm/status { llm_status; }'));
for my $i (10 .. 59) {
    $t->http_post('/v1/chat/completions', chat_body('hello',
        model => "model-with-a-rather-long-name-to-fill-the-reply-of-redis-$i"));
}
my $reply = redis_cmd($t->port(6379), 'HGETALL', '{llm}:fleet');
my $size = 0;
$size += length for @$reply;
ok(eventually(3, sub {
    $s = $t->http_get('/llm/status')->{json};
    return $s->{fleet}{requests} == 50;
}), 'unix socket: fleet synced');
$reply = redis_cmd($t->port(6379), 'HGETALL', '{llm}:fleet');
$size = 0;
$size += length for @$reply;
ok($size > 16384, "the fleet reply is larger than 16 KB ($size bytes)");
is(scalar(grep { $s->{fleet}{models}{$_}{requests} == 1 }
          keys %{ $s->{fleet}{models} }), 50,
   'every model of the large reply was read');

# a reply over 16 KB in one write: with edge-triggered events the module
# must keep reading without a new edge

my $big = LLMRouter::Test->new->workers(1);
my $pad = join('', map { sprintf("\$%d\r\nx|padding-%05d\r\n\$1\r\n1\r\n",
                                 length(sprintf('x|padding-%05d', $_)), $_) }
               1 .. 1500);
my $stub2 = $big->start_resp_stub(port => $big->port(6391), reply => sub {
    my ($cmd) = @_;
    return "+OK\r\n" unless uc($cmd->[0]) eq 'EVAL';
    # {counters, health, leases}, as the flush script answers
    return "*3\r\n*3002\r\n$pad\$10\r\na|requests\r\n\$2\r\n77\r\n"
         . "*0\r\n*0\r\n";
});
ok(length($pad) > 40000, 'the stub reply is ' . length($pad) . ' bytes');
start_providers($big);
$big->run(router_conf(
    http => "llm_redis 127.0.0.1:$stub2 flush=100ms timeout=2s;",
    server => 'location = /llm/status { llm_status; }'));
ok(eventually(3, sub {
    return $big->http_get('/llm/status')->{json}{fleet}{requests} == 77;
}), 'a 40 KB reply sent at once is read to its end');
$big->stop;
undef $big;

# max_reply: the same 40 KB reply (3,002 elements, ~190 KB of reply
# objects) under a 256 KB cap is read; a 200 KB one
# and an array that announces 2^31 - 1 elements are refused before hiredis
# builds them, the connection closed, every request still served

for my $case (['fits', 1, "*3\r\n*3002\r\n$pad\$10\r\na|requests\r\n\$2\r\n"
                          . "77\r\n*0\r\n*0\r\n"],
              ['200 KB', 0, "*3\r\n*15002\r\n" . ($pad x 5)
                            . "\$10\r\na|requests\r\n\$2\r\n77\r\n*0\r\n*0\r\n"],
              ['2^31 - 1 elements', 0, "*3\r\n*2147483647\r\n\$1\r\nx\r\n"])
{
    my ($name, $fits, $answer) = @$case;
    my $m = LLMRouter::Test->new->workers(1);
    my $stub = $m->start_resp_stub(port => $m->port(6392), reply => sub {
        return uc($_[0][0]) eq 'EVAL' ? $answer : "+OK\r\n";
    });
    start_providers($m);
    $m->run(router_conf(
        http => "llm_redis 127.0.0.1:$stub flush=100ms timeout=2s "
                . "max_reply=256k;",
        server => 'location = /llm/status { llm_status; }'));
    my ($n) = served($m, 5);
    is($n, 5, "max_reply, $name: every request served");

    if ($fits) {
        ok(eventually(3, sub {
            return $m->http_get('/llm/status')->{json}{fleet}{requests} == 77;
        }), "max_reply, $name: read");
    } else {
        ok(eventually(3, sub {
            return ($m->http_get('/llm/status')->{json}{redis}{error} // '')
                   =~ /reply larger than max_reply/;
        }), "max_reply, $name: refused, and why");
        like($m->read_file('error.log'),
             qr/\[error\].*Redis reply is larger than max_reply=262144/,
             "max_reply, $name: logged at error");
    }

    $m->stop;
}


# graceful QUIT with Redis connected: fast, no alert

$t0 = time();
$t->stop;
ok(time() - $t0 < 5, sprintf('quit took %.1fs', time() - $t0));
unlike($t->read_file('error.log'), qr/open socket .* left/,
       'no socket left open');

$t->done_testing;


# a DNS server for one name: the A record is the address in $file
# ("NXDOMAIN" for none), TTL 1 s; every other question is NXDOMAIN

sub dns_stub {
    my ($port, $name, $file) = @_;
    my $sock = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
        LocalPort => $port, Proto => 'udp') or die "dns stub: $!\n";
    while (1) {
        my $q;
        $sock->recv($q, 512) // next;
        next if length($q) < 12;
        my ($id) = unpack('n', $q);
        my ($off, @labels) = (12);
        while ($off < length $q) {
            my $len = ord(substr($q, $off, 1));
            $off++;
            last if $len == 0;
            push @labels, lc substr($q, $off, $len);
            $off += $len;
        }
        my ($qtype) = unpack('n', substr($q, $off, 2));
        my $question = substr($q, 12, $off + 4 - 12);
        open(my $fh, '<', $file);
        my $ip = <$fh> // '';
        chomp $ip;
        my $hit = join('.', @labels) eq $name && $qtype == 1
                  && $ip =~ /^\d+\.\d+\.\d+\.\d+$/;
        my $r = pack('nnnnnn', $id, $hit ? 0x8180 : 0x8183, 1, $hit ? 1 : 0,
                     0, 0) . $question;
        $r .= pack('nnnNn', 0xc00c, 1, 1, 1, 4)
              . pack('C4', split /\./, $ip) if $hit;
        $sock->send($r);
    }
}


# one command to a Redis on another loopback address (redis_cmd speaks to
# 127.0.0.1): a status or integer or bulk reply, or undef
sub redis_at {
    my ($addr, $port, @cmd) = @_;
    my $c = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port,
                                  Timeout => 2) or return undef;
    print $c '*' . @cmd . "\r\n"
             . join('', map { '$' . length($_) . "\r\n$_\r\n" } @cmd);
    my $line = <$c> // return undef;
    $line =~ s/\r\n$//;
    return $1 if $line =~ /^[+:](.*)/;
    return undef if $line =~ /^[-]/ || $line eq '$-1';
    if ($line =~ /^\$(\d+)/) {
        read($c, my $v, $1 + 2);
        return substr($v, 0, $1);
    }
    return undef;
}
