#!/usr/bin/perl

# llm_redis tls=on against a real redis-server speaking TLS, with a test
# CA made here: the certificate verified (by IP address and by name), a
# wrong CA and a wrong name refused with redis.error while requests are
# served, tls_verify=off, a client certificate, and nginx -t's checks.

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

sub sh {
    my ($cmd) = @_;
    system("$cmd >>$d/openssl.log 2>&1") == 0 or die "failed: $cmd\n";
}

# the test CA, another CA, the server's certificate (its IP and a name)
# and a client's

for my $ca (qw(ca other)) {
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
       . " -nodes -keyout $d/$ca.key -out $d/$ca.pem -days 2"
       . " -subj /CN=llmr-test-$ca");
}

$t->write_file('server.ext', "subjectAltName=DNS:redis.test,IP:127.0.0.1\n"
               . "extendedKeyUsage=serverAuth\n");
$t->write_file('client.ext', "extendedKeyUsage=clientAuth\n");

for my $p (qw(server client expired)) {
    my ($ext, $days) = $p eq 'expired' ? ('server', -1) : ($p, 2);
    sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
       . " -keyout $d/$p.key -out $d/$p.csr -subj /CN=llmr-test-$p");
    sh("openssl x509 -req -in $d/$p.csr -CA $d/ca.pem -CAkey $d/ca.key"
       . " -CAcreateserial -out $d/$p.pem -days $days -extfile $d/$ext.ext");
}

# nginx -t

my @refused = (
    [ 'tls_ca=ca.pem', qr/"llm_redis": tls_ca= needs tls=on/,
      'tls_ca= without tls=on' ],
    [ 'tls_verify=off', qr/"llm_redis": tls_verify= needs tls=on/,
      'tls_verify= without tls=on' ],
    [ "tls=on tls_cert=$d/client.pem",
      qr/"llm_redis": tls_cert= needs tls_key=/, 'tls_cert= alone' ],
    [ "tls=on tls_key=$d/client.key",
      qr/"llm_redis": tls_key= needs tls_cert=/, 'tls_key= alone' ],
    [ "tls=on tls_ca=$d/none.pem",
      qr/"llm_redis": cannot read tls_ca="\Q$d\E\/none\.pem" \(2: No such/,
      'a tls_ca= that cannot be read' ],
    [ "tls=on tls_cert=$d/ca.key tls_key=$d/client.key",
      qr/"llm_redis": tls_cert="[^"]+" and tls_key="[^"]+" are not a certificate and its key/,
      'a tls_cert= that is no certificate' ],
    [ "tls=on tls_cert=$d/client.pem tls_key=$d/server.key",
      qr/"llm_redis": tls_cert="[^"]+" and tls_key="[^"]+" are not a certificate and its key/,
      'a key that is not the certificate\'s' ],
    [ "tls=on tls_ca=$d/server.key",
      qr/"llm_redis": tls_ca="[^"]+" holds no usable CA certificate/,
      'a tls_ca= that holds no certificate' ],
    [ 'tls=yes', qr/invalid parameter "tls=yes" in "llm_redis"/,
      'tls=yes' ],
);

for my $c (@refused) {
    my ($rc, $out) = $t->test_config(router_conf(
        http => "llm_redis 127.0.0.1:6379 $c->[0];"));
    isnt($rc, 0, "nginx -t refuses $c->[2]");
    like($out, $c->[1], '  and says why') or diag($out);
}

my ($rc, $out) = $t->test_config(router_conf(
    http => "llm_redis unix:$d/redis.sock tls=on;"));
like($out, qr/"llm_redis": tls=on needs a TCP address/,
     'nginx -t refuses tls=on on a unix socket');

($rc, $out) = $t->test_config(router_conf(
    http => "llm_redis 127.0.0.1:6379 tls=on tls_ca=$d/ca.pem "
            . "tls_name=redis.test tls_verify=on tls_cert=$d/client.pem "
            . "tls_key=$d/client.key;"));
is($rc, 0, 'nginx -t takes every tls parameter') or diag($out);

($rc, $out) = $t->test_config(router_conf(
    http => 'llm_redis 127.0.0.1:6379 tls=on;'));
is($rc, 0, 'tls=on alone: the system\'s CAs') or diag($out);

# a Redis that speaks TLS (its plain port is the test's), and one that
# wants a client certificate

my %tls = ('tls-cert-file' => "$d/server.pem",
           'tls-key-file' => "$d/server.key",
           'tls-ca-cert-file' => "$d/ca.pem");

my $ta = $t->port('tls_a');
my $pa = $t->start_redis(port => $t->port(6379), 'tls-port' => $ta, %tls,
                         'tls-auth-clients' => 'no');
my $tb = $t->port('tls_b');
my $pb = $t->start_redis(port => $t->port(6380), 'tls-port' => $tb, %tls,
                         'tls-auth-clients' => 'yes');
my $tc = $t->port('tls_c');
$t->start_redis(port => $t->port(6381), 'tls-port' => $tc, %tls,
                'tls-cert-file' => "$d/expired.pem",
                'tls-key-file' => "$d/expired.key",
                'tls-auth-clients' => 'no');

sub conf {
    my ($params) = @_;
    return router_conf(
        http => "llm_redis $params flush=100ms timeout=500ms;",
        server => 'location = /llm/status { llm_status; }');
}

my $failed = 0;

sub load {
    my ($n) = @_;
    for (1 .. $n) {
        my $r = $t->http_post('/v1/chat/completions', chat_body('hello'));
        $failed++ if ($r->{status} // 0) != 200;
    }
}

sub redis_status {
    return $t->http_get('/llm/status')->{json}{redis} // {};
}

sub hget {
    my ($port) = @_;
    return eval { redis_cmd($port, 'HGET', '{llm}:fleet', 'a|requests') }
           // 0;
}

# the instance's requests since $base were counted in this Redis
sub fleet_is {
    my ($port, $name, $base) = @_;
    my $want;
    ok(eventually(5, sub {
        $want = $t->http_get('/llm/status')->{json}{instance}{requests}
                - ($base // 0);
        my $r = redis_status();
        return ($r->{state} // '') eq 'up' && hget($port) == $want;
    }), $name) or diag explain [ redis_status(), hget($port), $want ];
}

sub refused {
    my ($re, $name) = @_;
    my $r;
    ok(eventually(5, sub {
        $r = redis_status();
        return ($r->{state} // '') eq 'down' && ($r->{error} // '') =~ $re;
    }), $name) or diag explain $r;
}

start_providers($t);

# the CA, the certificate by its IP address

$t->run(conf("127.0.0.1:$ta tls=on tls_ca=$d/ca.pem"));
load(10);
fleet_is($pa, 'tls=on, tls_ca=: verified, the fleet counts reach Redis');
is(hget($pa), 10, '  all 10');

# by a name: tls_name= (SNI too)

ok($t->reload(conf("127.0.0.1:$ta tls=on tls_ca=$d/ca.pem "
                   . "tls_name=redis.test")), 'reload: tls_name=');
load(5);
fleet_is($pa, 'the certificate names redis.test');

# another CA: refused, shown, logged once; requests unaffected

ok($t->reload(conf("127.0.0.1:$ta tls=on tls_ca=$d/other.pem")),
   'reload: another CA');
load(5);
refused(qr/^TLS certificate: (?:unable to get local issuer certificate|self-signed certificate in certificate chain)/,
        'a certificate of another CA: redis.error says so');
like($t->read_file('error.log'),
     qr/redis 127\.0\.0\.1 is down \(TLS certificate: [^)]+\)/,
     '  the error log says so');
my $pos = -s "$d/error.log";
load(5);
sleep 1;                                # ten reconnects
my $since = substr($t->read_file('error.log'), $pos);
unlike($since, qr/is down|\[crit\]|\[error\]/, '  once');

# a wrong name

ok($t->reload(conf("127.0.0.1:$ta tls=on tls_ca=$d/ca.pem "
                   . "tls_name=elsewhere.test")), 'reload: a wrong name');
load(3);
refused(qr/^TLS certificate does not match "elsewhere\.test"/,
        'a certificate for another name: redis.error says so');

# an expired certificate

ok($t->reload(conf("127.0.0.1:$tc tls=on tls_ca=$d/ca.pem")),
   'reload: a Redis with an expired certificate');
load(3);
refused(qr/^TLS certificate: certificate has expired/,
        'an expired certificate: redis.error says so');

# without verification, the other CA is accepted

ok($t->reload(conf("127.0.0.1:$ta tls=on tls_ca=$d/other.pem "
                   . "tls_verify=off")), 'reload: tls_verify=off');
load(5);
fleet_is($pa, 'tls_verify=off: connected despite the CA');

# a Redis that asks for a client certificate: it counts from here

my $base = hget($pa);

ok($t->reload(conf("127.0.0.1:$tb tls=on tls_ca=$d/ca.pem")),
   'reload: a Redis that wants a client certificate');
load(3);
refused(qr/certificate required|connection closed|reset/,
        'without tls_cert=: refused');
note('redis.error: ' . (redis_status()->{error} // ''));

ok($t->reload(conf("127.0.0.1:$tb tls=on tls_ca=$d/ca.pem "
                   . "tls_cert=$d/client.pem tls_key=$d/client.key")),
   'reload: tls_cert=, tls_key=');
load(5);
fleet_is($pb, 'with the client certificate: the fleet counts', $base);

# a fleet reply over 16 KB through TLS, read to its end (no new edge
# comes for what SSL holds), and one past max_reply

redis_cmd($pa, 'HSET', '{llm}:fleet',
          map { (sprintf('x|padding-%05d', $_), 1) } 1 .. 3000);
ok($t->reload(conf("127.0.0.1:$ta tls=on tls_ca=$d/ca.pem")),
   'reload: the first Redis again');
load(3);
my $st;
ok(eventually(5, sub {
    $st = $t->http_get('/llm/status')->{json};
    return $st->{redis}{state} eq 'up' && $st->{fleet}{requests} > $base
           && $st->{fleet}{requests} == hget($pa);
}), 'a fleet reply of 3,000 more fields through TLS is read')
    or diag explain [ $st->{redis}, $st->{fleet}{requests}, hget($pa) ];

ok($t->reload(conf("127.0.0.1:$ta tls=on tls_ca=$d/ca.pem max_reply=64k")),
   'reload: max_reply=64k');
load(3);
refused(qr/reply larger than max_reply/,
        'a reply past max_reply through TLS: refused');

# plain text to a TLS port: refused, nothing sent in clear

ok($t->reload(conf("127.0.0.1:$ta")), 'reload: no tls');
load(3);
ok(eventually(5, sub { (redis_status()->{state} // '') eq 'down' }),
   'plain text to the TLS port: down');

is($failed, 0, 'no request failed, whatever Redis did');

$t->done_testing;
