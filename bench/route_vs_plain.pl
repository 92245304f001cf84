#!/usr/bin/perl

# Requests/s of llm_route on + proxy_pass http://$llm_upstream against plain
# proxy_pass to the same fast upstream, in the same nginx, interleaved.
#
#   perl bench/route_vs_plain.pl [--rounds 5] [--seconds 5] [--conns 32]
#                                [--sizes 1024,16384] [--workers 1]
#                                [--fleet] [--variable] [--extra 'DIRECTIVES']
#                                [--answer BYTES]
#
# --fleet: what a fleet runs, a real redis-server on loopback (llm_redis)
# and a feedback endpoint (llm_feedback), so that every decision is kept
# for a report and replicated to Redis.
#
# --variable: a third location, plain proxying through a variable
# (proxy_pass http://$var), as the routed one must: what nginx itself
# charges for an upstream chosen per request, routing's floor.
#
# The upstream is a server{} of the same nginx answering a canned
# completion, so both locations pay the same upstream cost and the ratio
# isolates what routing adds: body read and parse, classification, policy,
# the body splice and the variables. Needs wrk (apt-get install wrk).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use Getopt::Long;
use List::Util qw(sum);

use LLMRouter::Test;
use LLMRouter::RESP qw(redis_cmd);

my %o = (rounds => 5, seconds => 5, conns => 32, threads => 1,
         sizes => '1024,16384', workers => 1, hold => 0, extra => '',
         fleet => 0, variable => 0, answer => 2);
GetOptions(\%o, 'rounds=i', 'seconds=i', 'conns=i', 'threads=i', 'sizes=s',
           'workers=i', 'hold=i', 'extra=s', 'fleet', 'variable', 'answer=i') or die "bad options\n";

system('command -v wrk >/dev/null') == 0
    or die "wrk not found (apt-get install wrk)\n";

my $t = LLMRouter::Test->new(workers => $o{workers});
$SIG{__DIE__} = sub { $t->shutdown if $t && !$^S };
die "build the module first (./build.sh)\n" unless $t->has_module;

# production-like logging: the harness's globals log at debug level
my $globals = $t->test_globals;
$globals =~ s/^error_log .*$/error_log %%TESTDIR%%\/error.log warn;/m;

my ($feedback, $rport) = ('', 0);

if ($o{fleet}) {
    $rport = $t->port(6379);
    $t->start_redis(port => $rport);
    $o{extra} .= " llm_redis 127.0.0.1:$rport;";
    $feedback = 'location = /llm/feedback { llm_feedback; }';
}

# --extra: more http-level directives, to measure what a feature costs
my $answer = $o{answer} <= 2 ? 'ok'
           : substr('The answer, in plain words. ' x ($o{answer} / 28 + 1), 0,
                    $o{answer});
my %sub = (GLOBALS => $globals, EXTRA => $o{extra}, FEEDBACK => $feedback,
           ANSWER => $answer);
$t->run(<<'EOF' =~ s/%%(GLOBALS|EXTRA|FEEDBACK|ANSWER)%%/$sub{$1}/gr);
%%GLOBALS%%
%%LOAD_MODULE%%

events {
    worker_connections 4096;
}

http {
    %%TEST_GLOBALS_HTTP%%
    access_log off;
    error_log %%TESTDIR%%/error.log warn;

    llm_router_zone llm 4m;
    %%EXTRA%%

    map $host $bench_upstream {
        default fast;
    }

    llm_model cheap provider=openai    upstream=fast tiers=trivial-simple input=0.15 output=0.6;
    llm_model mid   provider=openai    upstream=fast tiers=simple-complex input=3 output=15;
    llm_model big   provider=anthropic api=openai upstream=fast tiers=complex-expert input=15 output=75;

    upstream fast {
        server 127.0.0.1:%%PORT_8090%%;
        keepalive 64;
    }

    server {
        listen 127.0.0.1:%%PORT_8080%% backlog=4096;

        client_body_buffer_size 64k;
        proxy_http_version 1.1;
        proxy_set_header Connection "";

        location /plain/ {
            proxy_pass http://fast;
        }

        location /routed/ {
            llm_route on;
            proxy_pass http://$llm_upstream;
        }

        location /variable/ {
            proxy_pass http://$bench_upstream;
        }

        %%FEEDBACK%%
    }

    server {
        listen 127.0.0.1:%%PORT_8090%% backlog=4096;
        keepalive_requests 100000;

        location / {
            default_type application/json;
            return 200 '{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"%%ANSWER%%"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}';
        }
    }
}
EOF

my $port = $t->nginx_port;
my $dir = $t->testdir;

if ($o{hold}) {
    # keep the gateway up for manual runs and profiling
    print "gateway on 127.0.0.1:$port (/plain/, /routed/) for $o{hold}s\n";
    sleep $o{hold};
    $t->shutdown;
    exit 0;
}

sub body_of {
    my ($size) = @_;
    my @s = ('Could you review this function and explain why the loop '
             . 'sometimes skips the last chunk? ',
             'We need a design for a multi-region deployment with failover. ',
             'A train leaves at 3 pm at 60 miles per hour; when does the '
             . 'second one catch up? ');
    my $head = '{"model":"auto","messages":[{"role":"system","content":'
             . '"You are a helpful assistant."},{"role":"user","content":"';
    my $tail = '"}],"max_tokens":256}';
    my $text = '';
    my $i = 0;
    $text .= $s[$i++ % 3] while length($head . $text . $tail) < $size;
    $text = substr($text, 0, $size - length($head) - length($tail));
    return $head . $text . $tail;
}

# the workers' resident memory, in KB
sub worker_rss {
    my $kb = 0;
    for my $pid ($t->worker_pids) {
        open(my $fh, '<', "/proc/$pid/status") or next;
        while (<$fh>) { $kb += $1 if /^VmRSS:\s+(\d+)/ }
    }
    return $kb;
}

# the workers' CPU time (user + system), in clock ticks
sub worker_ticks {
    my $ticks = 0;
    for my $pid ($t->worker_pids) {
        open(my $fh, '<', "/proc/$pid/stat") or next;
        my @f = split ' ', (<$fh> =~ s/^.*\) //r);
        $ticks += $f[11] + $f[12];
    }
    return $ticks;
}

my $hz = `getconf CLK_TCK` + 0 || 100;
my %cpu;    # "path size" => [ticks, requests]

sub wrk {
    my ($path, $lua, $size) = @_;
    my $cmd = "wrk -t$o{threads} -c$o{conns} -d$o{seconds}s -s $lua "
            . "http://127.0.0.1:$port$path 2>&1";
    my $before = worker_ticks();
    my $out = `$cmd`;
    my $ticks = worker_ticks() - $before;
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($n) = $out =~ /(\d+) requests in/;
    my ($non2xx) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    die "wrk failed:\n$out" unless defined $rps;
    die "errors from $path:\n$out" if $non2xx;
    if (defined $size && $n) {
        $cpu{"$path $size"}[0] += $ticks;
        $cpu{"$path $size"}[1] += $n;
    }
    return $rps;
}

# worker CPU microseconds a request, over the measured rounds
sub cpu_us {
    my ($path, $size) = @_;
    my $c = $cpu{"$path $size"} or return 0;
    return $c->[0] / $hz * 1e6 / $c->[1];
}

printf "%-8s %-6s %12s %12s %8s\n", 'body', 'round', 'plain rps',
       'routed rps', 'ratio';

my @summary;

for my $size (split /,/, $o{sizes}) {
    my $body = body_of($size);
    (my $esc = $body) =~ s/(["\\])/\\$1/g;
    my $lua = "$dir/post-$size.lua";
    open(my $fh, '>', $lua) or die;
    print $fh "wrk.method = \"POST\"\n"
        . "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
        . "wrk.body = \"$esc\"\n";
    close $fh;

    my @paths = ('plain', 'routed', $o{variable} ? ('variable') : ());
    my %rps;

    # warm-up, and check every location answers
    wrk("/$_/v1/chat/completions", $lua) for @paths;
    my $rss0 = worker_rss();

    for my $round (1 .. $o{rounds}) {
        # interleaved, each location first in turn
        my @order = @paths[map { ($_ + $round - 1) % @paths } 0 .. $#paths];

        for my $path (@order) {
            push @{$rps{$path}},
                 wrk("/$path/v1/chat/completions", $lua, $size);
        }

        printf "%-8d %-6d %12.0f %12.0f %8.3f%s\n", length $body, $round,
               $rps{plain}[-1], $rps{routed}[-1],
               $rps{routed}[-1] / $rps{plain}[-1],
               $o{variable} ? sprintf("   variable %.0f rps",
                                      $rps{variable}[-1]) : '';
    }

    my $rss1 = worker_rss();
    my ($p, $r) = (sum(@{$rps{plain}}), sum(@{$rps{routed}}));
    push @summary, sprintf("%d bytes: routed/plain = %.3f (plain %.0f rps, "
                           . "routed %.0f rps, %d rounds of %ds)",
                           length $body, $r / $p, $p / $o{rounds},
                           $r / $o{rounds}, $o{rounds}, $o{seconds});
    my ($cp, $cr) = (cpu_us('/plain/v1/chat/completions', $size),
                     cpu_us('/routed/v1/chat/completions', $size));
    push @summary, sprintf("%d bytes: worker CPU a request: plain %.1f us, "
                           . "routed %.1f us (+%.1f us)", length $body,
                           $cp, $cr, $cr - $cp);
    push @summary, sprintf("%d bytes: worker RSS after the warm-up %d KB, "
                           . "after the rounds %d KB", length $body, $rss0,
                           $rss1);

    if ($o{variable}) {
        my $v = sum(@{$rps{variable}});
        my $cv = cpu_us('/variable/v1/chat/completions', $size);
        push @summary, sprintf("%d bytes: variable/plain = %.3f, worker CPU "
                               . "%.1f us (+%.1f us over plain)",
                               length $body, $v / $p, $cv, $cv - $cp);
    }
}

if ($o{fleet}) {
    # the fleet path was taken: decisions and counters are in Redis
    my $info = redis_cmd($rport, 'INFO', 'commandstats');
    my $calls = 0;
    $calls += $1 while $info =~ /calls=(\d+)/g;
    push @summary, sprintf("redis: %d keys, %d commands executed",
                           redis_cmd($rport, 'DBSIZE'), $calls);
}

$t->shutdown;

print "\n", map { "$_\n" } @summary;
