#!/usr/bin/perl

# What Redis costs the request path (issue 4):
#   1. requests/s of the same routed location with llm_redis on vs off,
#      interleaved, same run;
#   2. Redis commands per proxied request (INFO commandstats) under load;
#   3. p99 latency with Redis up vs blackholed (redis-server paused with
#      SIGSTOP: connections accepted, nothing answered).
#
#   perl bench/redis_bench.pl [--rounds 4] [--seconds 5] [--conns 32] [--tls]
#
# --tls: the "on" side reaches Redis over TLS (llm_redis ... tls=on with a
# CA made here); the commands are still counted on Redis's plain port.
#
# Needs wrk. Both gateways route to a canned-answer server{} of their own
# nginx, as bench/route_vs_plain.pl does.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use Getopt::Long;
use List::Util qw(sum);

use LLMRouter::Test;

my %o = (rounds => 4, seconds => 5, conns => 32, tls => 0);
GetOptions(\%o, 'rounds=i', 'seconds=i', 'conns=i', 'tls') or die "bad options\n";

system('command -v wrk >/dev/null') == 0 or die "wrk not found\n";

my ($on, $off);
$SIG{__DIE__} = sub {
    return if $^S;
    $_ && $_->shutdown for $on, $off;
};

$on = LLMRouter::Test->new;
$off = LLMRouter::Test->new;
die "build the module first (./build.sh)\n" unless $on->has_module;

my $rport = $on->port(6379);
my $redis = "llm_redis 127.0.0.1:$rport;";

if ($o{tls}) {
    my $d = $on->testdir;
    my $tport = $on->port(6390);
    my $sh = sub {
        system("$_[0] >>$d/openssl.log 2>&1") == 0 or die "failed: $_[0]\n";
    };
    $sh->("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
          . " -nodes -keyout $d/ca.key -out $d/ca.pem -days 2"
          . " -subj /CN=llmr-bench-ca");
    $on->write_file('server.ext', "subjectAltName=IP:127.0.0.1\n");
    $sh->("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
          . " -nodes -keyout $d/server.key -out $d/server.csr"
          . " -subj /CN=llmr-bench-redis");
    $sh->("openssl x509 -req -in $d/server.csr -CA $d/ca.pem -CAkey $d/ca.key"
          . " -CAcreateserial -out $d/server.pem -days 2"
          . " -extfile $d/server.ext");
    $on->start_redis(port => $rport, 'tls-port' => $tport,
                     'tls-cert-file' => "$d/server.pem",
                     'tls-key-file' => "$d/server.key",
                     'tls-ca-cert-file' => "$d/ca.pem",
                     'tls-auth-clients' => 'no');
    $redis = "llm_redis 127.0.0.1:$tport tls=on tls_ca=$d/ca.pem;";
} else {
    $on->start_redis(port => $rport);
}

sub conf {
    my ($t, $on_side) = @_;
    my $g = $t->test_globals;
    $g =~ s/^error_log .*$/error_log %%TESTDIR%%\/error.log warn;/m;
    my $c = <<'EOF';
%%GLOBALS%%
%%LOAD_MODULE%%
events { worker_connections 4096; }
http {
    %%TEST_GLOBALS_HTTP%%
    access_log off;
    llm_router_zone llm 16m;
    %%REDIS%%
    llm_model cheap provider=openai upstream=fast tiers=trivial-simple input=0.15 output=0.6;
    llm_model mid   provider=openai upstream=fast tiers=simple-complex input=3 output=15;
    llm_model big   provider=openai upstream=fast tiers=complex-expert input=15 output=75;
    upstream fast { server 127.0.0.1:%%PORT_8090%%; keepalive 64; }
    server {
        listen 127.0.0.1:%%PORT_8080%% backlog=4096;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location /v1/ {
            llm_route on;
            proxy_pass http://$llm_upstream;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_8090%% backlog=4096;
        keepalive_requests 100000;
        location / {
            default_type application/json;
            return 200 '{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}';
        }
    }
}
EOF
    $c =~ s/%%GLOBALS%%/$g/;
    $c =~ s/%%REDIS%%/$on_side ? $redis : ''/e;
    return $c;
}

$on->run(conf($on, 1));
$off->run(conf($off, 0));

my $dir = $on->testdir;
my $lua = "$dir/post.lua";
open(my $fh, '>', $lua) or die;
print $fh 'wrk.method = "POST"' . "\n"
    . 'wrk.headers["Content-Type"] = "application/json"' . "\n"
    . 'wrk.body = \'{"model":"auto","messages":[{"role":"user","content":'
    . '"Could you explain how a bloom filter works, and when it beats a '
    . 'hash set?"}],"max_tokens":256}\'' . "\n";
close $fh;

sub wrk {
    my ($t, $secs) = @_;
    my $port = $t->nginx_port;
    my $out = `wrk -t1 -c$o{conns} -d${secs}s --latency -s $lua http://127.0.0.1:$port/v1/chat/completions 2>&1`;
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($n) = $out =~ /(\d+) requests in/;
    my ($p99, $unit) = $out =~ /^\s+99%\s+([\d.]+)(us|ms|s)/m;
    die "wrk failed:\n$out" unless defined $rps;
    $p99 *= { us => 0.001, ms => 1, s => 1000 }->{$unit} if defined $p99;
    return ($rps, $n, $p99);
}

sub redis_calls {
    my $info = redis_cmd($rport, 'INFO', 'commandstats');
    my $calls = 0;
    $calls += $1 while $info =~ /calls=(\d+)/g;
    return $calls;
}

wrk($_, 2) for $on, $off;

# 1 + 2: on vs off, interleaved; commands per request on the "on" side

my (@ron, @roff, $served, $calls);
$served = 0;
$calls = 0;
for my $round (1 .. $o{rounds}) {
    for my $side ($round % 2 ? ('on', 'off') : ('off', 'on')) {
        if ($side eq 'on') {
            my $c0 = redis_calls();
            my ($rps, $n) = wrk($on, $o{seconds});
            sleep 2;
            $calls += redis_calls() - $c0 - 1;   # the INFO itself
            $served += $n;
            push @ron, $rps;
        } else {
            push @roff, (wrk($off, $o{seconds}))[0];
        }
    }
    printf "round %d: redis on %.0f rps, off %.0f rps\n", $round, $ron[-1],
           $roff[-1];
}

# 3: p99 with Redis up, then paused

my (undef, undef, $p99_up) = wrk($on, $o{seconds});
my $pid = $on->redis_pid($rport);
kill 'STOP', $pid;
my (undef, undef, $p99_paused) = wrk($on, $o{seconds});
kill 'CONT', $pid;

$on->shutdown;
$off->shutdown;

printf "\nrequests/s, llm_redis%s on / off: %.3f (on %.0f, off %.0f; %d "
       . "rounds of %ds)\n", $o{tls} ? ' (TLS)' : '', sum(@ron) / sum(@roff), sum(@ron) / @ron,
       sum(@roff) / @roff, $o{rounds}, $o{seconds};
printf "Redis commands per proxied request: %.5f (%d commands for %d "
       . "requests)\n", $calls / $served, $calls, $served;
printf "p99 latency: %.2f ms with Redis up, %.2f ms with Redis paused\n",
       $p99_up, $p99_paused;
