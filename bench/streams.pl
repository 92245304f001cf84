#!/usr/bin/perl

# Thousands of streams at once: --n concurrent streaming requests (OpenAI
# chat completions, stream: true) through nginx with --workers workers, a
# mock provider (t/sdk/mock_provider.js) trickling --tokens one-word
# deltas, one every --delay ms.  Three runs, each on a fresh nginx:
#
#   plain       proxy_pass straight to the provider, no llm_route
#   routed      llm_route on, a model of the client's API
#   translated  llm_route on, only an Anthropic model: every event is
#               translated from Anthropic's stream to the OpenAI client's
#
#   perl bench/streams.pl [--n 5000] [--tokens 40] [--delay 250]
#                         [--workers 2] [--only plain,routed,translated]
#
# For each run: streams completed (status 200, a whole chunked body,
# "[DONE]" last, no error event), the workers' RSS at rest and once every
# stream has its first event (all open at once) and the difference per
# open stream, the workers' CPU (utime + stime from /proc) over the run
# per streamed token, worker fds and temp files afterwards, and for the
# routed runs the requests and output tokens charged (llm_status).
#
# Checks, exit status 1 when one fails: every stream completed, fds back
# to their baseline, no temp file left, every routed request charged with
# the provider's usage.  Loopback only; needs node.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use Getopt::Long;
use List::Util qw(max min sum);
use POSIX ();
use Time::HiRes qw(sleep time);

use LLMRouter::Test;

my %o = (n => 5000, tokens => 40, delay => 250, workers => 2,
         only => 'plain,routed,translated');
GetOptions(\%o, 'n=i', 'tokens=i', 'delay=i', 'workers=i', 'only=s')
    or die "bad options\n";

my $NODE = $ENV{TEST_NODE} // 'node';
my $SDK = "$FindBin::Bin/../t/sdk";
system("\"$NODE\" --version >/dev/null 2>&1") == 0
    or die "node not found (apt-get install nodejs)\n";

my $TICK = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;
my $nofile = `sh -c 'ulimit -Hn'` =~ /^(\d+)/ ? min($1, 65536) : 16384;
my $conns = max(1024, int(($o{n} * 2) / $o{workers}) + 1024);
die "--n $o{n} needs more fds than the hard limit ($nofile)\n"
    if $conns > $nofile;

sub rss_kb {
    my ($pid) = @_;
    open(my $fh, '<', "/proc/$pid/status") or return 0;
    while (my $l = <$fh>) { return $1 if $l =~ /^VmRSS:\s+(\d+)/ }
    return 0;
}

sub cpu_ticks {
    my ($pid) = @_;
    open(my $fh, '<', "/proc/$pid/stat") or return 0;
    my $line = <$fh> // return 0;
    my @f = split ' ', substr($line, rindex($line, ')') + 2);
    return $f[11] + $f[12];         # utime + stime
}

sub nfds {
    my ($pid) = @_;
    opendir(my $d, "/proc/$pid/fd") or return 0;
    return scalar grep { !/^\./ } readdir $d;
}

sub temp_files {
    my ($dir) = @_;
    my $n = 0;
    my @dirs = map { "$dir/$_" } qw(client_body_temp proxy_temp);
    while (my $d = shift @dirs) {
        opendir(my $dh, $d) or next;
        for (grep { !/^\.\.?$/ } readdir $dh) {
            if (-d "$d/$_") { push @dirs, "$d/$_" } else { $n++ }
        }
    }
    return $n;
}

my @results;
my $failed = 0;

for my $kind (split /,/, $o{only}) {
    die "unknown run $kind\n" unless $kind =~ /^(plain|routed|translated)$/;

    my $t = LLMRouter::Test->new(workers => $o{workers});
    die "build the module first (./build.sh)\n" unless $t->has_module;
    my $dir = $t->testdir;
    my $mport = $t->port('mock');
    $t->run_daemon('/bin/sh', '-c', 'exec "$0" "$@" >/dev/null 2>&1',
        $NODE, "$SDK/mock_provider.js", '--port', $mport, '--name', 'm',
        '--log', "$dir/mock.log");
    $t->waitforsocket("127.0.0.1:$mport", 10) or die "mock did not start\n";

    my ($model, $provider) = $kind eq 'translated'
        ? ('claude-x', 'anthropic') : ('gpt-x', 'openai');
    my $route = $kind eq 'plain'
        ? "proxy_pass http://mock;"
        : "llm_route on;\n            proxy_pass http://\$llm_upstream\$llm_upstream_uri;";

    # the test harness logs at debug level; a benchmark at warn
    (my $globals = $t->test_globals) =~
        s/^error_log (\S+) debug;$/error_log $1 warn;/m;
    $t->write_file_expand('nginx.conf', <<"EOF");
$globals
%%LOAD_MODULE%%
worker_rlimit_nofile $nofile;

events {
    worker_connections $conns;
}

http {
    %%TEST_GLOBALS_HTTP%%
    access_log off;

    llm_router_zone llm 4m;
    llm_model $model provider=$provider upstream=mock tiers=trivial-expert input=1 output=2;

    upstream mock {
        server 127.0.0.1:$mport;
        keepalive 64;
        keepalive_timeout 1s;
    }

    server {
        listen 127.0.0.1:%%PORT_8080%% backlog=8192;

        location = /llm/status {
            llm_status;
        }

        location /v1/ {
            $route
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 60s;
        }
    }
}
EOF
    $t->run;
    my $port = $t->nginx_port;

    my $body = "$dir/body.json";
    $t->write_file('body.json', '{"model":"gpt-x","stream":true,'
        . '"stream_options":{"include_usage":true},"messages":[{"role":'
        . '"user","content":"Write a short poem about the sea."}]}');

    sleep 1;
    my @w = $t->worker_pids;
    my %base = (rss => sum(map { rss_kb($_) } @w),
                fds => [ map { nfds($_) } @w ],
                cpu => sum(map { cpu_ticks($_) } @w));

    my $ready = "$dir/ready";
    my $out = "$dir/clients.out";
    my $t0 = time();
    my $cpid = fork() // die "fork: $!\n";
    if ($cpid == 0) {
        open(STDOUT, '>', $out);
        exec($NODE, "$FindBin::Bin/stream_clients.js", '--port', $port,
             '--path', '/v1/chat/completions', '--body', $body,
             '--n', $o{n}, '--ready', $ready, '--end', '[DONE]',
             '--min-events', $o{tokens},
             '--header', "X-Mock-Stream-Tokens: $o{tokens}",
             '--header', "X-Mock-Chunk-Delay: $o{delay}",
             '--header', "X-Mock-Usage: 12,$o{tokens}")
            or POSIX::_exit(127);
    }

    my ($peak, $open_rss) = (0, undef);
    while (waitpid($cpid, POSIX::WNOHANG()) == 0) {
        my $rss = sum(map { rss_kb($_) } @w);
        $peak = max($peak, $rss);
        $open_rss //= $rss if -e $ready;
        sleep 0.2;
    }
    my $elapsed = time() - $t0;
    my $cpu = (sum(map { cpu_ticks($_) } @w) - $base{cpu}) / $TICK;
    my $r = LLMRouter::Test::json_decode(
        do { local $/; open(my $fh, '<', $out) or die; <$fh> } // '{}');

    my $fds_back = LLMRouter::Test::eventually(20, sub {
        my @now = map { nfds($_) } @w;
        return !grep { $now[$_] > $base{fds}[$_] } 0 .. $#w;
    });
    my $temp = temp_files($dir);

    my ($charged, $tokens_out, $estimated) = ('-', '-', '-');
    if ($kind ne 'plain') {
        LLMRouter::Test::eventually(10, sub {
            my $s = $t->http_get('/llm/status', mark => 0)->{json};
            my $m = $s->{instance}{models}{$model} // {};
            ($charged, $tokens_out, $estimated) = ($m->{requests} // 0,
                $m->{output_tokens} // 0, $m->{cost_estimated_usd} // 0);
            return $charged == $o{n};
        });
    }

    my $tokens = ($r->{ok} // 0) * $o{tokens};
    my %res = (
        kind => $kind, ok => $r->{ok} // 0, failed => $r->{failed} // $o{n},
        errors => $r->{first_errors} // [], seconds => $elapsed,
        rss_rest => $base{rss}, rss_open => $open_rss // $peak,
        rss_peak => $peak, cpu => $cpu, tokens => $tokens,
        events => $r->{events} // 0, fds_back => $fds_back, temp => $temp,
        charged => $charged, tokens_out => $tokens_out,
        estimated => $estimated,
    );
    push @results, \%res;

    my @checks = (
        [ "$kind: every stream completed", $res{ok} == $o{n} ],
        [ "$kind: worker fds back to their baseline", $fds_back ],
        [ "$kind: no temp file left", $temp == 0 ],
    );
    push @checks,
        [ "$kind: every request charged", $charged eq $o{n} ],
        [ "$kind: the provider's usage charged, no estimate",
          $tokens_out eq $o{n} * $o{tokens} && $estimated == 0 ]
        if $kind ne 'plain';
    for (@checks) {
        printf "%s - %s\n", $_->[1] ? 'ok' : 'FAIL', $_->[0];
        $failed++ unless $_->[1];
    }
    printf "  first errors: %s\n", join('; ', @{$res{errors}})
        if @{$res{errors}};

    $t->{_leave} = 1 if $ENV{STREAMS_KEEP};
    $t->shutdown;
}

printf "\n%d streams at once, %d tokens each, one every %d ms, %d workers\n\n",
       $o{n}, $o{tokens}, $o{delay}, $o{workers};
# per token: the workers' CPU over the run (requests, connections and
# events) divided by the tokens streamed; "over plain" is the difference
# with the plain run's, when it ran
my ($plain) = grep { $_->{kind} eq 'plain' } @results;
my $per = sub { $_[0]{tokens} ? $_[0]{cpu} * 1e6 / $_[0]{tokens} : 0 };
print "| run | completed | seconds | worker RSS at rest | all open | per open stream | worker CPU | per token | over plain |\n";
print "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
for my $r (@results) {
    printf "| %s | %d/%d | %.1f | %.1f MB | %.1f MB | %.1f KB | %.2f s | %.2f us | %s |\n",
        $r->{kind}, $r->{ok}, $o{n}, $r->{seconds}, $r->{rss_rest} / 1024,
        $r->{rss_open} / 1024, ($r->{rss_open} - $r->{rss_rest}) / $o{n},
        $r->{cpu}, $per->($r),
        $plain ? sprintf('%+.2f us', $per->($r) - $per->($plain)) : '-';
}
exit($failed ? 1 : 0);
