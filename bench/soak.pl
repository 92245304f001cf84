#!/usr/bin/perl

# Soak and chaos: wrk load through llm_route on for --duration seconds with
# mixed prompt sizes and formats (OpenAI chat, completions, Responses,
# Anthropic, Gemini; JSON and SSE answers; bodies from 60 bytes to 300 KB,
# the large ones spooled to temp files; a few malformed ones), one
# provider failing half the time (503, 429 with Retry-After, 1% that hang
# until the upstream timeout), failover through llm_route fallback, Redis
# killed (SIGKILL) every --redis-every seconds and restarted --redis-down
# seconds later (AOF, appendfsync always), and nginx -s reload every
# --reload-every seconds.  Streams also come from a provider that sends a
# token at a time (t/sdk/mock_provider.js) and, for some of them, breaks
# off after its first events: a stall past the read timeout, a reset in
# the middle of an event, an event that is not JSON, its own error event,
# an end without the final events; for clients of all three APIs, the
# Anthropic and Gemini ones translated.
#
#   perl bench/soak.pl [--duration 600] [--conns 32] [--threads 2]
#                      [--workers 2] [--reload-every 30] [--redis-every 60]
#                      [--redis-down 5] [--timeout 3] [--warmup 60]
#                      [--rss-bound-mb 8]
#
# Checks, printed with the numbers, exit status 1 when one fails:
#   - no worker crashed (no "exited on signal", no [alert]/[crit]/[emerg]);
#   - worker RSS after warm-up grows by less than --rss-bound-mb, and the
#     master's (which reloads the configuration every time) too;
#   - no fd growth: each process's fd count back to its baseline at rest;
#   - no temp file left (client_body_temp, proxy_temp) at the end;
#   - the fleet counters (Redis) equal the instance counters equal the
#     requests served, exactly: every access-log line of the routed
#     locations is one "requests" (a model was chosen) or one "rejected";
#   - no request slower than the upstream timeout plus 1 s.
#
# A 60 s run (--duration 60 --reload-every 10 --redis-every 20) is enough
# while changing things; the full one is an hour (--duration 3600).
# Loopback only; needs wrk, redis-server and node.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use Getopt::Long;
use IO::Socket::INET;
use List::Util qw(max min sum);
use POSIX ();
use Time::HiRes qw(sleep time);

use LLMRouter::Test;
use LLMRouter::RESP qw(redis_cmd);

my %o = (duration => 600, conns => 32, threads => 2, workers => 2,
         'reload-every' => 30, 'redis-every' => 60, 'redis-down' => 5,
         timeout => 3, warmup => 60, 'rss-bound-mb' => 8);
GetOptions(\%o, 'duration=i', 'conns=i', 'threads=i', 'workers=i',
           'reload-every=i', 'redis-every=i', 'redis-down=i', 'timeout=i',
           'warmup=i', 'rss-bound-mb=i') or die "bad options\n";
$o{warmup} = min($o{warmup}, int($o{duration} / 4));

system('command -v wrk >/dev/null') == 0
    or die "wrk not found (apt-get install wrk)\n";

# the providers: another nginx, which the reloads do not touch (in the
# router's own nginx, a reload would close their keepalive connections);
# they keep idle connections longer than the router (keepalive_timeout
# 60s against 1s), or the router could reuse one they are closing
my $p = LLMRouter::Test->new(workers => 1);
my $t = LLMRouter::Test->new(workers => $o{workers});
$SIG{__DIE__} = sub { !$^S and $_ and $_->shutdown for $t, $p };
$SIG{INT} = sub { $_->shutdown for $t, $p; exit 130 };
die "build the module first (./build.sh)\n" unless $t->has_module;
my %pp = map { $_ => $p->port($_) } 8081, 8082, 8083, 8084, 8099;

# the streaming provider: a token every 10 ms, faults on request
my $NODE = $ENV{TEST_NODE} // 'node';
system("\"$NODE\" --version >/dev/null 2>&1") == 0
    or die "node not found (apt-get install nodejs)\n";
$p->run_daemon('/bin/sh', '-c', 'exec "$0" "$@" >/dev/null 2>&1', $NODE,
    "$FindBin::Bin/../t/sdk/mock_provider.js", '--port', $pp{8084},
    '--name', 'trickle', '--log', '/dev/null');
$p->waitforsocket("127.0.0.1:$pp{8084}", 10)
    or die "the streaming provider did not start\n";

my $dir = $t->testdir;
my $rport = $t->port(6379);
my @redis = (port => $rport, appendonly => 'yes', appendfsync => 'always');
$t->start_redis(@redis);

# a provider that hangs: accepts, reads, never answers, closes after 30 s
my $bh = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                               LocalPort => $pp{8099}, Listen => 1024,
                               ReuseAddr => 1)
    or die "blackhole: $!\n";
$p->run_daemon(sub {
    my @held;
    $SIG{ALRM} = sub { };
    while (1) {
        alarm(1);
        my $c = $bh->accept;
        alarm(0);
        push @held, [ time(), $c ] if $c;
        @held = grep { $_->[0] > time() - 30 } @held;
    }
});
close $bh;

###########################################################################
# configuration

my $globals = $t->test_globals;
$globals =~ s/^error_log .*$/error_log %%TESTDIR%%\/error.log warn;/m;

my %answer = (
    chat => '{"id":"c1","object":"chat.completion","model":"m","choices":'
        . '[{"index":0,"message":{"role":"assistant","content":"Fine, '
        . 'thanks."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,'
        . '"completion_tokens":4,"total_tokens":16}}',
    chat_sse => 'data: {"id":"c1","object":"chat.completion.chunk",'
        . '"choices":[{"index":0,"delta":{"content":"Fine"},'
        . '"finish_reason":null}]}\n\ndata: {"id":"c1","object":'
        . '"chat.completion.chunk","choices":[{"index":0,"delta":{},'
        . '"finish_reason":"stop"}]}\n\ndata: {"id":"c1","object":'
        . '"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":'
        . '12,"completion_tokens":4,"total_tokens":16}}\n\ndata: [DONE]\n\n',
    completions => '{"id":"t1","object":"text_completion","choices":[{"text":'
        . '"done","index":0,"finish_reason":"length"}],"usage":'
        . '{"prompt_tokens":5,"completion_tokens":16,"total_tokens":21}}',
    responses => '{"id":"r1","object":"response","status":"completed",'
        . '"output":[{"type":"message","role":"assistant","content":[{"type":'
        . '"output_text","text":"ok"}]}],"usage":{"input_tokens":20,'
        . '"output_tokens":3,"total_tokens":23}}',
    anthropic => '{"id":"msg_1","type":"message","role":"assistant",'
        . '"content":[{"type":"text","text":"Sure."}],"stop_reason":'
        . '"end_turn","usage":{"input_tokens":30,"output_tokens":5}}',
    anthropic_sse => 'event: message_start\ndata: {"type":"message_start",'
        . '"message":{"id":"msg_1","type":"message","role":"assistant",'
        . '"content":[],"usage":{"input_tokens":30,"output_tokens":1}}}\n\n'
        . 'event: content_block_delta\ndata: {"type":"content_block_delta",'
        . '"index":0,"delta":{"type":"text_delta","text":"Sure."}}\n\n'
        . 'event: message_delta\ndata: {"type":"message_delta","delta":'
        . '{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}\n\n'
        . 'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    gemini => '{"candidates":[{"content":{"parts":[{"text":"Yes."}],'
        . '"role":"model"},"finishReason":"STOP","index":0}],'
        . '"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":2,'
        . '"totalTokenCount":11}}',
    gemini_sse => 'data: {"candidates":[{"content":{"parts":[{"text":'
        . '"Yes."}],"role":"model"},"finishReason":"STOP","index":0}],'
        . '"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":2,'
        . '"totalTokenCount":11}}\n\n',
);

sub provider {
    my ($port, $fail) = @_;
    my $f = '';
    if ($fail) {
        $f = <<'EOF';
        if ($fail_mode = e503) { rewrite ^ /__503 last; }
        if ($fail_mode = e429) { rewrite ^ /__429 last; }
        if ($fail_mode = hang) { rewrite ^ /__hang last; }

        location = /__503 {
            return 503 '{"error":{"type":"server_error","message":"overloaded"}}';
        }
        location = /__429 {
            add_header Retry-After 1 always;
            return 429 '{"error":{"type":"rate_limit","message":"slow down"}}';
        }
        location = /__hang {
            proxy_pass http://127.0.0.1:%%BLACKHOLE%%;
            proxy_read_timeout 60s;
        }
EOF
        $f =~ s/%%BLACKHOLE%%/$pp{8099}/;
    }
    return <<"EOF";
    server {
        listen 127.0.0.1:$port backlog=4096;
        keepalive_requests 100000;
        keepalive_timeout 60s;
        client_max_body_size 8m;
        client_body_buffer_size 1m;
        default_type application/json;
$f
        location ~ /messages\$ {
            if (\$http_x_soak_stream) { rewrite ^ /__anthropic_sse last; }
            return 200 '$answer{anthropic}';
        }
        location ~ :streamGenerateContent\$ {
            default_type text/event-stream;
            return 200 '$answer{gemini_sse}';
        }
        location ~ :generateContent\$ {
            return 200 '$answer{gemini}';
        }
        location ~ /responses\$ {
            return 200 '$answer{responses}';
        }
        location ~ /chat/completions\$ {
            if (\$http_x_soak_stream) { rewrite ^ /__chat_sse last; }
            return 200 '$answer{chat}';
        }
        location ~ /completions\$ {
            return 200 '$answer{completions}';
        }
        location = /__chat_sse {
            default_type text/event-stream;
            return 200 '$answer{chat_sse}';
        }
        location = /__anthropic_sse {
            default_type text/event-stream;
            return 200 '$answer{anthropic_sse}';
        }
    }
EOF
}

my $errors = '401 402 408 429 500 502 503 504';
my $proxy = <<"EOF";
            proxy_intercept_errors on;
            error_page $errors = \@llm_fallback;
EOF

# as many fds as the hard limit allows (10,000 connections need them)
my $nofile = `sh -c 'ulimit -Hn'` =~ /^(\d+)/ ? min($1, 65536) : 16384;

$p->run("%%TEST_GLOBALS%%\nevents { worker_connections 16384; }\n"
        . "worker_rlimit_nofile $nofile;\n"
        . "http {\n%%TEST_GLOBALS_HTTP%%\naccess_log off;\n"
        . "split_clients \$request_id \$fail_mode {\n"
        . "    45% e503;\n    4% e429;\n    1% hang;\n    * ok;\n}\n"
        . provider($pp{8081}, 0) . provider($pp{8082}, 1)
        . provider($pp{8083}, 0) . "}\n");

my $conf = <<"EOF";
%%GLOBALS%%
%%LOAD_MODULE%%
worker_rlimit_nofile $nofile;

events {
    worker_connections 16384;
}

http {
    %%TEST_GLOBALS_HTTP%%
    access_log off;

    log_format routed '\$msec \$status \$request_time m=\$llm_model '
                      'a=\$llm_attempt u=\$upstream_status';

    llm_router_zone llm 4m;
    llm_redis 127.0.0.1:$rport flush=1s timeout=500ms;
    # the flaky provider stays in use (50% errors, under error_rate), so
    # half its requests fail over; a 429 takes it down for 1 s
    llm_health fails=30 window=10s error_rate=90% degraded_rate=95%
               min_requests=20 cooldown=1s max_cooldown=4s;

    llm_model cheap   provider=openai    upstream=cheap_pool tiers=trivial-simple input=0.15 output=0.6 context=128000;
    llm_model flaky   provider=openai    upstream=flaky_pool tiers=simple-expert input=2 output=8 context=200000 caps=vision,tools;
    llm_model steady  provider=anthropic api=openai upstream=big_pool   tiers=simple-expert input=3 output=15 context=200000 caps=vision,tools;
    llm_model big     provider=anthropic api=openai upstream=big_pool   tiers=complex-expert input=15 output=75 context=200000 caps=vision,tools;
    # the streaming provider, only for requests that prefer it
    # (X-LLM-Prefer: google); the dearest, so no one else is sent there
    llm_model trickle provider=google    api=openai upstream=trickle_pool tiers=trivial-expert input=30 output=100 context=200000 caps=vision,tools;

    upstream cheap_pool { server 127.0.0.1:$pp{8081}; keepalive 32; keepalive_timeout 1s; }
    upstream flaky_pool { server 127.0.0.1:$pp{8082}; keepalive 32; keepalive_timeout 1s; }
    upstream big_pool   { server 127.0.0.1:$pp{8083}; keepalive 32; keepalive_timeout 1s; }
    upstream trickle_pool { server 127.0.0.1:$pp{8084}; keepalive 32; keepalive_timeout 1s; }

    server {
        listen 127.0.0.1:%%PORT_8080%% backlog=4096;

        access_log %%TESTDIR%%/routed.log routed;

        client_max_body_size 8m;
        client_body_buffer_size 16k;
        llm_route_max_body 4m;
        llm_route_max_attempts 3;
        recursive_error_pages on;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_connect_timeout 1s;
        proxy_send_timeout $o{timeout}s;
        proxy_read_timeout $o{timeout}s;

        # \$llm_upstream_uri: the model's endpoint, which for a request
        # translated to another API is not the client's
        location /v1/ {
            llm_route on;
            proxy_pass http://\$llm_upstream\$llm_upstream_uri;
$proxy
        }

        # Gemini's clients: streams passed on as they come
        location /v1beta/ {
            llm_route on;
            proxy_pass http://\$llm_upstream\$llm_upstream_uri;
            proxy_buffering off;
$proxy
        }

        location \@llm_fallback {
            llm_route fallback;
            proxy_pass http://\$llm_upstream\$llm_upstream_uri;
$proxy
        }

        location = /llm/status {
            access_log off;
            llm_status;
        }
    }

}
EOF

$conf =~ s/%%GLOBALS%%/$globals/;
$t->run($conf);

my $port = $t->nginx_port;

###########################################################################
# the request mix

sub text_of {
    my ($size, $seed) = @_;
    my @s = ('Could you review this function and explain why the loop '
             . 'sometimes skips the last chunk? ',
             'We need a design for a multi-region deployment with failover '
             . 'and a proof that the consensus step is safe. ',
             'A train leaves at 3 pm at 60 miles per hour; when does the '
             . 'second one catch up? ',
             'Summarise the following meeting notes in two lines. ');
    my $text = '';
    my $i = $seed;
    $text .= $s[$i++ % @s] while length($text) < $size;
    return substr($text, 0, $size);
}

my @mix;

sub add {
    my ($weight, $path, $body, %h) = @_;
    push @mix, { path => $path, body => $body, headers => \%h }
        for 1 .. $weight;
}

sub chat {
    my ($text, $extra) = @_;
    return '{"model":"auto","messages":[{"role":"system","content":"You are '
         . 'helpful."},{"role":"user","content":"' . $text . '"}]'
         . ($extra // '') . '}';
}

add(6, '/v1/chat/completions', chat('hello'));
add(4, '/v1/chat/completions', chat(text_of(2000, 0), ',"max_tokens":512'));
add(2, '/v1/chat/completions', chat(text_of(40000, 1)));     # temp file
add(1, '/v1/chat/completions', chat(text_of(300000, 2)));    # temp file
add(3, '/v1/chat/completions', chat(text_of(300, 3), ',"stream":true'),
    'X-Soak-Stream' => 1);
add(2, '/v1/chat/completions', '{"model":"auto","messages":[{"role":"user",'
    . '"content":[{"type":"text","text":"What is in this picture?"},'
    . '{"type":"image_url","image_url":{"url":"data:image/png;base64,'
    . 'iVBORw0KGgo="}}]}]}');
add(2, '/v1/chat/completions', chat(text_of(800, 1),
    ',"tools":[{"type":"function","function":{"name":"f","parameters":'
    . '{"type":"object"}}}]'));
add(3, '/v1/messages', '{"model":"auto","max_tokens":1024,"system":"Be '
    . 'precise.","messages":[{"role":"user","content":"'
    . text_of(1500, 2) . '"}]}');
add(2, '/v1/messages', '{"model":"auto","max_tokens":256,"stream":true,'
    . '"messages":[{"role":"user","content":[{"type":"text","text":"'
    . text_of(200, 0) . '"}]}]}', 'X-Soak-Stream' => 1);
add(2, '/v1/completions', '{"model":"auto","prompt":"'
    . text_of(500, 3) . '","max_tokens":16}');
add(2, '/v1/responses', '{"model":"auto","instructions":"Answer briefly.",'
    . '"input":"' . text_of(700, 1) . '"}');
add(2, '/v1beta/models/auto:generateContent', '{"contents":[{"role":"user",'
    . '"parts":[{"text":"' . text_of(900, 2) . '"}]}]}');
add(1, '/v1beta/models/auto:streamGenerateContent?alt=sse', '{"contents":[{"role":'
    . '"user","parts":[{"text":"' . text_of(100, 0) . '"}]}]}');
add(1, '/v1/chat/completions', '{"model":"auto","messages":[{"role":');

# streams a token at a time, whole or broken off after half their events
my %trickle = ('X-LLM-Prefer' => 'google', 'X-Mock-Stream-Tokens' => 16,
               'X-Mock-Chunk-Delay' => 10, 'X-Mock-Usage' => '40,16');
my %stream_body = (
    '/v1/chat/completions' => chat(text_of(400, 2),
        ',"stream":true,"stream_options":{"include_usage":true}'),
    '/v1/messages' => '{"model":"auto","max_tokens":256,"stream":true,'
        . '"messages":[{"role":"user","content":"' . text_of(300, 1)
        . '"}]}',
    '/v1beta/models/auto:streamGenerateContent?alt=sse' => '{"contents":[{"role":'
        . '"user","parts":[{"text":"' . text_of(200, 3) . '"}]}]}',
);
for my $path (sort keys %stream_body) {
    add(2, $path, $stream_body{$path}, %trickle);
    add(1, $path, $stream_body{$path}, %trickle, 'X-Mock-Fault' => $_)
        for qw(reset garble error);
    add(1, $path, $stream_body{$path}, %trickle, 'X-Mock-Truncate' => 1);
}
add(1, '/v1/chat/completions', $stream_body{'/v1/chat/completions'},
    %trickle, 'X-Mock-Fault' => 'stall');
add(1, '/v1/chat/completions', '{"model":5,"messages":[]}');

my $lua = "$dir/mix.lua";
{
    open(my $fh, '>', $lua) or die "$lua: $!\n";
    print $fh "local raw = {}\n";
    for my $m (@mix) {
        my $h = join ', ', '["Content-Type"] = "application/json"',
            map { "[\"$_\"] = \"$m->{headers}{$_}\"" } sort keys %{$m->{headers}};
        (my $b = $m->{body}) =~ s/(["\\])/\\$1/g;
        print $fh "raw[#raw + 1] = { \"$m->{path}\", { $h }, \"$b\" }\n";
    }
    print $fh <<'EOF';
local reqs = {}
local n = 0
function setup(thread)
    thread:set("offset", math.random(1, #raw))
end
-- wrk.format() takes the Host header from wrk.headers, set by now
function init(args)
    for i, r in ipairs(raw) do
        reqs[i] = wrk.format("POST", r[1], r[2], r[3])
    end
    n = offset or 0
end
function request()
    n = n + 1
    return reqs[(n % #reqs) + 1]
end
EOF
}

###########################################################################
# process observation

sub rss_kb {
    my ($pid) = @_;
    open(my $fh, '<', "/proc/$pid/status") or return undef;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ }
    return undef;
}

sub nfds {
    my ($pid) = @_;
    opendir(my $d, "/proc/$pid/fd") or return undef;
    return scalar grep { !/^\./ } readdir $d;
}

sub temp_files {
    my $n = 0;
    for my $sub (qw(client_body_temp proxy_temp)) {
        my @dirs = ("$dir/$sub");
        while (my $d = shift @dirs) {
            opendir(my $dh, $d) or next;
            for (grep { !/^\.\.?$/ } readdir $dh) {
                if (-d "$d/$_") { push @dirs, "$d/$_" } else { $n++ }
            }
        }
    }
    return $n;
}

sub status { return $t->http_get('/llm/status', mark => 0)->{json} }

sub settle {
    my ($secs, $code) = @_;
    my $end = time() + $secs;
    while (time() < $end) {
        return 1 if $code->();
        sleep 0.2;
    }
    return $code->();
}

# at rest: the baselines (once every worker has its Redis connection)
sleep 3;
my $master = $t->master_pid;
my %base = (master_rss => rss_kb($master), master_fds => nfds($master),
            worker_fds => max(map { nfds($_) // 0 } $t->worker_pids),
            worker_rss => max(map { rss_kb($_) // 0 } $t->worker_pids));

printf "soak: %d s, %d connections, %d workers, reload every %d s, redis "
     . "killed every %d s for %d s, upstream timeout %d s, %d request kinds\n",
     $o{duration}, $o{conns}, $o{workers}, $o{'reload-every'},
     $o{'redis-every'}, $o{'redis-down'}, $o{timeout}, scalar @mix;

###########################################################################
# the run

my $wrk_out = "$dir/wrk.out";
my $wrk = fork() // die "fork: $!\n";
if ($wrk == 0) {
    open(STDOUT, '>', $wrk_out);
    open(STDERR, '>&', \*STDOUT);
    exec('wrk', "-t$o{threads}", "-c$o{conns}", "-d$o{duration}s",
         '--timeout', '30s', '--latency', '-s', $lua,
         "http://127.0.0.1:$port") or POSIX::_exit(127);
}

my $start = time();
my (@samples, $reloads, $reload_fail, $kills, $restarts, $max_temp);
my ($next_reload, $next_kill, $restart_at) =
    ($start + $o{'reload-every'}, $start + $o{'redis-every'}, 0);
my $next_sample = $start;
$reloads = $reload_fail = $kills = $restarts = $max_temp = 0;

while (waitpid($wrk, POSIX::WNOHANG()) == 0) {
    my $now = time();

    if ($now >= $next_sample) {
        my @w = $t->worker_pids;
        push @samples, { t => $now - $start,
            master_rss => rss_kb($master), master_fds => nfds($master),
            workers => { map { $_ => [ rss_kb($_), nfds($_) ] } @w } };
        $max_temp = max($max_temp, temp_files());
        $next_sample = $now + 5;
    }

    if ($restart_at && $now >= $restart_at) {
        $t->start_redis(@redis);
        $restarts++;
        $restart_at = 0;
    }

    if ($now >= $next_kill && !$restart_at) {
        my $pid = $t->redis_pid($rport);
        kill 'KILL', $pid;
        $t->stop_redis($rport);        # reaps it
        $kills++;
        $restart_at = $now + $o{'redis-down'};
        $next_kill = $now + $o{'redis-every'};
    }

    if ($now >= $next_reload) {
        $reloads++;
        $t->reload or $reload_fail++;
        $next_reload = time() + $o{'reload-every'};
    }

    sleep 0.2;
}

my $wrk_status = $?;
$t->start_redis(@redis), $restarts++ if $restart_at;

###########################################################################
# settle and check

my $wout = do { local $/; open(my $fh, '<', $wrk_out) or die; <$fh> };
my ($wrk_reqs) = $wout =~ /(\d+) requests in/;
my ($rps) = $wout =~ /Requests\/sec:\s+([\d.]+)/;
my ($wmax) = $wout =~ /Latency(?:\s+\S+){2}\s+(\S+)/;
my ($sockerr) = $wout =~ /(Socket errors:.*)/;
my ($non2xx) = $wout =~ /Non-2xx or 3xx responses:\s+(\d+)/;

my $lines_then = -1;
my @log;
settle(30, sub {
    @log = do { open(my $fh, '<', "$dir/routed.log") or die; <$fh> };
    my $st = status();
    my $settled = @log == $lines_then && $st->{redis}{state} eq 'up'
                  && $st->{redis}{pending_deltas} == 0;
    $lines_then = @log;
    return $settled;
});

my $st = status();
my %count = (requests => 0, rejected => 0);
my (%statuses, @times);
for (@log) {
    my ($ms, $status, $rt, $model) = /^(\S+) (\d+) (\S+) m=(\S*)/ or next;
    $count{ ($model eq '' || $model eq '-') ? 'rejected' : 'requests' }++;
    $statuses{$status}++;
    push @times, $rt;
}
@times = sort { $a <=> $b } @times;

# idle keepalive connections close after 1 s, a hung upstream after the
# flaky provider notices its client left
my $wfds;
settle(20, sub {
    $wfds = max(map { nfds($_) // 0 } $t->worker_pids);
    return $wfds <= $base{worker_fds};
});
my @w = $t->worker_pids;
my %end = (master_rss => rss_kb($master), master_fds => nfds($master),
           worker_fds => $wfds,
           worker_rss => max(map { rss_kb($_) // 0 } @w),
           temp => temp_files());

# worker RSS: the largest sample of each 5 s step after warm-up
my @wr = map { [ $_->{t}, max(map { $_->[0] // 0 } values %{$_->{workers}}) ] }
         grep { $_->{t} >= $o{warmup} } @samples;
my $wr_first = @wr ? $wr[0][1] : 0;
my $wr_max = @wr ? max(map { $_->[1] } @wr) : 0;
my $wr_last = @wr ? $wr[-1][1] : 0;
my @mr = map { $_->{master_rss} } grep { $_->{t} >= $o{warmup} } @samples;

my $errlog = $t->read_file('error.log');
my $crashes = () = $errlog =~ /exited on signal/g;
my $alerts = () = $errlog =~ /\[(?:alert|crit|emerg)\]/g;
my $p99 = @times ? $times[int(0.99 * $#times)] : 0;
my $maxrt = @times ? $times[-1] : 0;

my @checks = (
    [ 'wrk ran', $wrk_status == 0 && $wrk_reqs ],
    [ 'no crashed worker', $crashes == 0 ],
    [ 'no [alert]/[crit]/[emerg] in error.log', $alerts == 0 ],
    [ 'every reload took', $reload_fail == 0 ],
    [ "worker RSS growth after warm-up < $o{'rss-bound-mb'} MB",
      $wr_max - $wr_first < $o{'rss-bound-mb'} * 1024 ],
    [ "master RSS growth after warm-up < $o{'rss-bound-mb'} MB",
      !@mr || max(@mr) - $mr[0] < $o{'rss-bound-mb'} * 1024 ],
    [ 'master fds back to baseline', $end{master_fds} <= $base{master_fds} ],
    [ 'worker fds back to baseline', $end{worker_fds} <= $base{worker_fds} ],
    [ 'no temp file left', $end{temp} == 0 ],
    [ 'instance requests == served with a model (access log)',
      $st->{instance}{requests} == $count{requests} ],
    [ 'instance rejected == served without one',
      $st->{instance}{rejected} == $count{rejected} ],
    [ 'fleet requests == instance requests (Redis, exact)',
      $st->{fleet}{requests} == $st->{instance}{requests} ],
    [ 'fleet cost == instance cost (micro-dollars)',
      $st->{fleet}{cost_usd} eq $st->{instance}{cost_usd} ],
    [ 'fleet == instance for every model',
      !grep { ($st->{fleet}{models}{$_}{requests} // 0)
              != $st->{instance}{models}{$_}{requests} }
            keys %{ $st->{instance}{models} } ],
    [ "max request time <= upstream timeout + 1 s",
      $maxrt <= $o{timeout} + 1 ],
);

printf "\nwrk: %s requests, %s req/s, max latency %s, non-2xx %s%s\n",
       $wrk_reqs // '?', $rps // '?', $wmax // '?', $non2xx // 0,
       $sockerr ? ", $sockerr" : '';
printf "served (access log): %d = %d with a model + %d rejected; status: %s\n",
       scalar @log, $count{requests}, $count{rejected},
       join(' ', map { "$_:$statuses{$_}" } sort keys %statuses);
printf "counters: instance requests %d rejected %d cost %s; fleet requests "
     . "%d cost %s; redis %s, pending %d\n",
       $st->{instance}{requests}, $st->{instance}{rejected},
       $st->{instance}{cost_usd}, $st->{fleet}{requests},
       $st->{fleet}{cost_usd}, $st->{redis}{state},
       $st->{redis}{pending_deltas};
printf "models: %s\n", join(', ', map {
       my $m = $st->{instance}{models}{$_};
       "$_ $m->{requests} requests, $m->{errors} errors" }
       sort keys %{ $st->{instance}{models} });
printf "chaos: %d reloads (%d failed), redis killed %d times, restarted %d\n",
       $reloads, $reload_fail, $kills, $restarts;
printf "request time: p50 %.3f s, p99 %.3f s, max %.3f s (upstream "
     . "timeout %d s)\n", @times ? $times[@times / 2] : 0, $p99, $maxrt,
       $o{timeout};
printf "worker RSS (max over workers): at rest %.1f MB, after warm-up %.1f "
     . "MB, max %.1f MB, last %.1f MB, at rest after %.1f MB\n",
       $base{worker_rss} / 1024, $wr_first / 1024, $wr_max / 1024,
       $wr_last / 1024, $end{worker_rss} / 1024;
printf "master RSS: %.1f MB at start, %.1f MB after warm-up, %.1f MB at "
     . "the end\n", $base{master_rss} / 1024, (@mr ? $mr[0] : 0) / 1024,
       $end{master_rss} / 1024;
printf "fds: master %d -> %d, worker max %d -> %d (at rest)\n",
       $base{master_fds}, $end{master_fds}, $base{worker_fds},
       $end{worker_fds};
printf "temp files: max %d during the run, %d at the end\n", $max_temp,
       $end{temp};
printf "crashed workers: %d, alerts: %d\n\n", $crashes, $alerts;

my $failed = 0;
for (@checks) {
    printf "%s - %s\n", $_->[1] ? 'ok' : 'FAIL', $_->[0];
    $failed++ unless $_->[1];
}

if ($ENV{SOAK_KEEP}) {
    print "\nleft in $dir\n";
    $t->{_leave} = $p->{_leave} = 1;
}
$t->shutdown;
$p->shutdown;
exit($failed ? 1 : 0);
