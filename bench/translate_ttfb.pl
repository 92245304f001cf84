#!/usr/bin/perl

# Time to the first streamed event, translated or not: an OpenAI streaming
# request through the gateway to an OpenAI model (untranslated), and the
# same request to an Anthropic model (translated both ways), interleaved,
# against the mock provider (t/sdk/mock_provider.js) trickling its events
# 20 ms apart.  Prints the median and p90 of the time from the request's
# last byte to the first "data:" line the client reads, and of the time
# to the stream's end, for each.
#
#   perl bench/translate_ttfb.pl [--requests 200] [--gap-ms 20]
#
# Needs node and t/sdk/node_modules (cd t/sdk && npm ci), and the module
# built (./build.sh).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use Getopt::Long;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

use LLMRouter::Test;

my %o = (requests => 200, 'gap-ms' => 20);
GetOptions(\%o, 'requests=i', 'gap-ms=i') or die "bad options\n";

my $node = $ENV{TEST_NODE} // 'node';
my $sdk = "$FindBin::Bin/../t/sdk";

my $t = LLMRouter::Test->new(workers => 1);
die "build the module first (./build.sh)\n" unless $t->has_module;

my $globals = $t->test_globals;
$globals =~ s/^error_log .*$/error_log %%TESTDIR%%\/error.log warn;/m;

my %port;
for my $m (qw(oa an)) {
    $port{$m} = $t->port("mock:$m");
    $t->run_daemon(sub {
        open(STDOUT, '>', '/dev/null');
        exec { $node } $node, "$sdk/mock_provider.js", '--port', $port{$m},
            '--name', $m, '--log', '/dev/null';
    });
}
$t->waitforsocket("127.0.0.1:$port{$_}", 10) or die "mock $_: no\n" for qw(oa an);

$t->run(<<"EOF" =~ s/%%GLOBALS%%/$globals/r);
%%GLOBALS%%
%%LOAD_MODULE%%

events { worker_connections 1024; }

http {
    access_log off;
    llm_router_zone llm 1m;

    llm_model oa provider=openai    upstream=u_oa tiers=trivial-expert input=1   output=1;
    llm_model an provider=anthropic upstream=u_an tiers=trivial-expert input=0.5 output=0.5;

    upstream u_oa { server 127.0.0.1:$port{oa}; keepalive 8; }
    upstream u_an { server 127.0.0.1:$port{an}; keepalive 8; }

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_buffering off;

        location /same/ {
            llm_route on;
            llm_route_translate off;
            proxy_pass http://\$llm_upstream\$llm_upstream_uri;
        }

        location /x/ {
            llm_route on;
            proxy_pass http://\$llm_upstream\$llm_upstream_uri;
        }
    }
}
EOF

my $body = '{"model":"auto","stream":true,"messages":[{"role":"user",'
    . '"content":"Say hello."}]}';

# (time to the first event, time to the end), seconds
sub one {
    my ($prefix) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->nginx_port) or die "$!\n";
    $s->autoflush(1);
    print $s "POST /$prefix/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        . "Content-Type: application/json\r\nConnection: close\r\n"
        . "X-Mock-Chunk-Delay: $o{'gap-ms'}\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my $t0 = time;
    my ($buf, $first) = ('', undef);
    while (sysread($s, $buf, 65536, length $buf)) {
        $first //= time - $t0 if $buf =~ /\r\n\r\n.*?data:/s;
    }
    my $end = time - $t0;
    die "/$prefix: no event:\n$buf\n" unless defined $first;
    my $want = $prefix eq 'x' ? 'an' : 'oa';
    die "/$prefix: not answered by $want, or not an OpenAI stream:\n$buf\n"
        unless $buf =~ /^X-Mock-Name: $want\r$/mi
               && $buf =~ /"object":"chat\.completion\.chunk"/;
    return ($first, $end);
}

my (%first, %end);
for (1 .. $o{requests}) {
    for my $p (qw(same x)) {
        my ($f, $e) = one($p);
        push @{$first{$p}}, $f * 1000;
        push @{$end{$p}}, $e * 1000;
    }
}

sub quantile {
    my ($v, $q) = @_;
    my @s = sort { $a <=> $b } @$v;
    return $s[int($q * $#s + 0.5)];
}

printf "%-34s %10s %10s %10s %10s\n", '', 'first p50', 'first p90',
    'end p50', 'end p90';
for my $p (qw(same x)) {
    printf "%-34s %8.2fms %8.2fms %8.2fms %8.2fms\n",
        $p eq 'same' ? 'OpenAI client, OpenAI model' : 'OpenAI client, Anthropic model',
        quantile($first{$p}, 0.5), quantile($first{$p}, 0.9), quantile($end{$p}, 0.5), quantile($end{$p}, 0.9);
}
printf "translated/untranslated, first event p50: %.3f\n",
    quantile($first{x}, 0.5) / quantile($first{same}, 0.5);

$t->stop;
$t->stop_daemons;
