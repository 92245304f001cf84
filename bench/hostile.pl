#!/usr/bin/perl

# Hostile clients against llm_route on: what nginx must survive without a
# stuck request, a leaked temp file, fd or request context, or a miscount.
#
#   perl bench/hostile.pl [--conns 10000] [--slow 100] [--aborts 300]
#                         [--streams 100] [--pipelined 20] [--depth 50]
#
# Phases, one after the other, each with a probe request every second that
# must be answered (200) in under a second while it runs:
#
#   slowloris   --slow clients send a valid body at one byte per second
#               (answered 200 at the end), as many abort at a random point
#               and half as many stall (client_body_timeout 10s: 408)
#   aborts      --aborts clients send part of a 200 KB body (spooled to a
#               temp file) and close
#   streams     --streams streamed answers (a provider sending an event
#               every 0.3 s) that the client closes after the first event
#   conns       --conns connections open at once, each with all its request
#               but the last body byte; then the last bytes, and every one
#               must be answered 200
#   pipelined   --pipelined connections, each sending --depth requests in
#               one write (routed, malformed, large, bodiless), answers read
#               in order
#
# Then, at rest: no temp file, every worker's fd count back to its
# baseline (no connection, upstream or Redis waiter left), no crashed
# worker or [alert], and the counters exact: requests + rejected == the
# access-log lines of the routed location, and the fleet (Redis) == the
# instance.  Exit status 1 when a check fails.  Raises its own fd limit
# (and nginx's, worker_rlimit_nofile) to the hard limit.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use Errno qw(EAGAIN EINPROGRESS EWOULDBLOCK);
use Getopt::Long;
use IO::Select;
use IO::Socket::INET;
use List::Util qw(max min shuffle sum);
use POSIX ();
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(sleep time);

# 10,000 sockets need the fd limit raised: re-run under a raised ulimit
if (!$ENV{HOSTILE_ULIMIT}) {
    $ENV{HOSTILE_ULIMIT} = 1;
    exec('sh', '-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"',
         $^X, $0, @ARGV) or die "exec: $!\n";
}

use LLMRouter::Test;
use LLMRouter::MockLLM;

my %o = (conns => 10000, slow => 100, aborts => 300, streams => 100,
         pipelined => 20, depth => 50);
GetOptions(\%o, 'conns=i', 'slow=i', 'aborts=i', 'streams=i', 'pipelined=i',
           'depth=i') or die "bad options\n";

my $nofile = `sh -c 'ulimit -n'` =~ /^(\d+)/ ? $1 : 1024;
if ($o{conns} + 200 > $nofile) {
    $o{conns} = $nofile - 200;
    print "fd limit $nofile: --conns lowered to $o{conns}\n";
}

my $p = LLMRouter::Test->new(workers => 2);
my $t = LLMRouter::Test->new(workers => 2);
$SIG{__DIE__} = sub { !$^S and $_ and $_->shutdown for $t, $p };
$SIG{INT} = sub { $_->shutdown for $t, $p; exit 130 };
$SIG{PIPE} = 'IGNORE';
die "build the module first (./build.sh)\n" unless $t->has_module;

my $dir = $t->testdir;
my $rport = $t->port(6379);
$t->start_redis(port => $rport);

# fast providers: another nginx; the slow, streaming one: the Perl mock.
# The providers keep idle connections longer than the router does, so
# the router never sends a request on one the provider is closing (the
# keepalive race every proxy has with an upstream that times out first)
my %pp = map { $_ => $p->port($_) } 8081, 8082;
my $mock = start_mock($p, name => 'big', port => $p->port(8083));
my $answer = '{"id":"c1","object":"chat.completion","choices":[{"index":0,'
           . '"message":{"role":"assistant","content":"ok"},"finish_reason":'
           . '"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2,'
           . '"total_tokens":12}}';

$p->run(<<"EOF");
%%TEST_GLOBALS%%
worker_rlimit_nofile $nofile;
events { worker_connections $nofile; }
http {
    %%TEST_GLOBALS_HTTP%%
    access_log off;
    server {
        listen 127.0.0.1:$pp{8081} backlog=16384;
        listen 127.0.0.1:$pp{8082} backlog=16384;
        keepalive_requests 100000;
        keepalive_timeout 60s;
        client_max_body_size 8m;
        client_body_buffer_size 1m;
        default_type application/json;
        location / { return 200 '$answer'; }
    }
}
EOF

my $globals = $t->test_globals;
$globals =~ s/^error_log .*$/error_log %%TESTDIR%%\/error.log warn;/m;

$t->run(<<"EOF" =~ s/%%GLOBALS%%/$globals/r);
%%GLOBALS%%
%%LOAD_MODULE%%
worker_rlimit_nofile $nofile;

events {
    worker_connections $nofile;
}

http {
    %%TEST_GLOBALS_HTTP%%
    access_log off;

    log_format routed '\$status \$request_time m=\$llm_model';

    llm_router_zone llm 4m;
    llm_redis 127.0.0.1:$rport flush=500ms;

    llm_model cheap provider=openai    upstream=cheap_pool tiers=trivial-simple input=0.15 output=0.6;
    llm_model mid   provider=openai    upstream=mid_pool   tiers=moderate-complex input=3 output=15;
    llm_model big   provider=anthropic api=openai upstream=big_pool tiers=expert input=15 output=75;

    upstream cheap_pool { server 127.0.0.1:$pp{8081}; keepalive 64; keepalive_timeout 2s; }
    upstream mid_pool   { server 127.0.0.1:$pp{8082}; keepalive 64; keepalive_timeout 2s; }
    upstream big_pool   { server 127.0.0.1:$mock; }

    server {
        listen 127.0.0.1:%%PORT_8080%% backlog=16384;

        access_log %%TESTDIR%%/routed.log routed;

        client_max_body_size 8m;
        client_body_buffer_size 16k;
        client_body_timeout 10s;
        client_header_timeout 10s;
        keepalive_timeout 5s;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_read_timeout 10s;

        location /v1/ {
            llm_route on;
            proxy_pass http://\$llm_upstream;
        }

        # the many-connections phase: opening them all takes longer than
        # client_body_timeout, and a provider on a small machine can take more
        # than proxy_read_timeout to answer 10,000 requests at once
        location /v1/wait/ {
            llm_route on;
            client_body_timeout 120s;
            proxy_read_timeout 120s;
            proxy_pass http://\$llm_upstream;
        }

        location = /llm/status {
            access_log off;
            llm_status;
        }
    }
}
EOF

my $port = $t->nginx_port;

###########################################################################
# helpers

my @checks;
sub check { my ($ok, $name) = @_; push @checks, [ $ok ? 1 : 0, $name ];
            printf "%s - %s\n", $ok ? 'ok' : 'FAIL', $name; }

sub chat_body {
    my ($text, $extra) = @_;
    return '{"model":"auto","messages":[{"role":"user","content":"'
         . $text . '"}]' . ($extra // '') . '}';
}

sub head_of {
    my ($len, %h) = @_;
    my $path = delete $h{path} // '/v1/chat/completions';
    return "POST $path HTTP/1.1\r\nHost: localhost\r\n"
         . "Content-Type: application/json\r\nContent-Length: $len\r\n"
         . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n";
}

sub connect_nb {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 10)
        or return undef;
    $s->blocking(0);
    setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
    return $s;
}

sub write_all {
    my ($s, $data) = @_;
    my $end = time() + 10;
    while (length $data) {
        my $n = syswrite($s, $data);
        if (!defined $n) {
            return 0 unless $! == EAGAIN || $! == EWOULDBLOCK;
            return 0 if time() > $end;
            IO::Select->new($s)->can_write(0.1);
            next;
        }
        substr($data, 0, $n, '');
    }
    return 1;
}

# complete responses at the front of $$buf, removed from it
sub take_responses {
    my ($buf) = @_;
    my @r;
    while ($$buf =~ /^(HTTP\/1\.\d (\d+)[^\r\n]*\r\n(.*?)\r\n\r\n)/s) {
        my ($hlen, $status, $hdr) = (length $1, $2, $3);
        my $rest = substr($$buf, $hlen);
        my $blen;
        if ($hdr =~ /^content-length:\s*(\d+)/im) {
            last if length $rest < $1;
            $blen = $1;
        } elsif ($hdr =~ /^transfer-encoding:\s*chunked/im) {
            my $pos = 0;
            while (1) {
                last unless substr($rest, $pos) =~ /^([0-9a-f]+)[^\r\n]*\r\n/i;
                my $n = hex $1;
                $pos += length($&) + $n + 2;
                if ($n == 0) { $blen = $pos; last }
                last if $pos > length $rest;
            }
            last unless defined $blen && $blen <= length $rest;
        } else {
            $blen = 0;
        }
        push @r, { status => $status, headers => $hdr,
                   body => substr($rest, 0, $blen) };
        substr($$buf, 0, $hlen + $blen, '');
    }
    return @r;
}

# one request on a fresh connection; (status, seconds)
sub probe {
    my $t0 = time();
    my $s = connect_nb() or return (0, time() - $t0);
    my $b = chat_body('probe: what is 2 + 2?');
    write_all($s, head_of(length $b, Connection => 'close') . $b);
    my ($buf, @r) = ('');
    my $sel = IO::Select->new($s);
    while (!@r && time() - $t0 < 10) {
        next unless $sel->can_read(0.2);
        my $n = sysread($s, $buf, 65536, length $buf);
        last if !$n && !($! == EAGAIN);
        @r = take_responses(\$buf);
    }
    close $s;
    return (@r ? $r[0]{status} : 0, time() - $t0);
}

my (@probe_times, $probe_bad);
$probe_bad = 0;
my $next_probe = 0;
sub maybe_probe {
    return if time() < $next_probe;
    my ($st, $secs) = probe();
    push @probe_times, $secs;
    $probe_bad++ unless $st == 200 && $secs < 1;
    $next_probe = time() + 1;
}

sub nfds {
    my ($pid) = @_;
    opendir(my $d, "/proc/$pid/fd") or return 0;
    return scalar grep { !/^\./ } readdir $d;
}

sub worker_fds { return max(map { nfds($_) } $t->worker_pids) // 0 }

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

sub eventually {
    my ($secs, $code) = @_;
    my $end = time() + $secs;
    while (time() < $end) {
        return 1 if $code->();
        sleep 0.2;
    }
    return $code->();
}

sub status { return $t->http_get('/llm/status', mark => 0)->{json} }

sleep 2;
my $base_fds = worker_fds();
my %count;          # what the clients saw, by phase

###########################################################################
# slowloris

{
    my $body = chat_body('hi there');
    my (@c, $t0);
    $t0 = time();
    my $n = $o{slow};
    for my $i (0 .. $n * 2 + int($n / 2) - 1) {
        my $kind = $i < $n ? 'complete' : $i < 2 * $n ? 'abort' : 'stall';
        my $s = connect_nb() or next;
        write_all($s, head_of(length $body, Connection => 'close'));
        push @c, { s => $s, kind => $kind, sent => 0, buf => '',
                   abort_at => $kind eq 'abort' ? 1 + int(rand(length($body) - 2)) : 0,
                   stall_at => 10 };
    }
    printf "slowloris: %d clients at 1 byte/s (%d complete, %d abort, %d "
         . "stall), %d-byte body\n", scalar @c, $n, $n, int($n / 2),
         length $body;

    my %got;
    my $next = time();
    while (grep { !$_->{done} } @c) {
        maybe_probe();
        if (time() >= $next) {
            for my $c (grep { !$_->{done} } @c) {
                next if $c->{sent} >= length $body;
                if ($c->{kind} eq 'abort' && $c->{sent} >= $c->{abort_at}) {
                    close $c->{s};
                    $c->{done} = 1;
                    $got{aborted}++;
                    next;
                }
                next if $c->{kind} eq 'stall' && $c->{sent} >= $c->{stall_at};
                syswrite($c->{s}, substr($body, $c->{sent}++, 1));
            }
            $next += 1;
        }
        for my $c (grep { !$_->{done} && $_->{sent} >= ($_->{kind} eq 'stall'
                          ? $_->{stall_at} : length $body) } @c) {
            my $r = sysread($c->{s}, $c->{buf}, 65536, length $c->{buf});
            my @r = take_responses(\$c->{buf});
            if (@r || (defined $r && $r == 0)) {
                my $st = @r ? $r[0]{status} : 'closed';
                $got{"$c->{kind} $st"}++;
                $c->{done} = 1;
                $c->{secs} = time() - $t0;
                close $c->{s};
            }
        }
        sleep 0.05;
        last if time() - $t0 > length($body) + 60;
    }
    my $stall_secs = max(map { $_->{secs} // 0 } grep { $_->{kind} eq 'stall' } @c) // 0;
    printf "  %s; stalled ones closed by %.1f s\n",
           join(', ', map { "$_: $got{$_}" } sort keys %got), $stall_secs;
    check(($got{"complete 200"} // 0) == $n, "slowloris: all $n slow bodies answered 200");
    check(($got{"stall 408"} // 0) + ($got{"stall closed"} // 0) == int($n / 2)
          && $stall_secs < 10 + 10 + 5,
          'slowloris: stalled bodies closed after client_body_timeout');
    check(!grep({ !$_->{done} } @c), 'slowloris: no client left waiting');
}

###########################################################################
# aborts mid-body

{
    my $body = chat_body('x' x 200000);
    my $done = 0;
    while ($done < $o{aborts}) {
        my @s;
        for (1 .. min(50, $o{aborts} - $done)) {
            my $s = connect_nb() or next;
            my $cut = 1 + int(rand(length($body) - 1));
            write_all($s, head_of(length $body) . substr($body, 0, $cut));
            push @s, $s;
        }
        sleep 0.05;
        close $_ for @s;
        $done += @s;
        maybe_probe();
    }
    printf "aborts: %d clients closed mid-body (200 KB bodies)\n", $done;
    check(eventually(10, sub { temp_files() == 0 }),
          'aborts: no temp file left');
}

###########################################################################
# aborts mid-stream

{
    my $body = chat_body('Stream me a long answer, please.', ',"stream":true');
    my ($done, $first) = (0, 0);
    while ($done < $o{streams}) {
        my @c;
        for (1 .. min(20, $o{streams} - $done)) {
            my $s = connect_nb() or next;
            write_all($s, head_of(length $body, 'X-LLM-Min-Tier' => 'expert',
                                  'X-Mock-Chunk-Delay' => '0.3') . $body);
            push @c, { s => $s, buf => '' };
        }
        my $end = time() + 10;
        while (grep({ !$_->{done} } @c) && time() < $end) {
            for my $c (grep { !$_->{done} } @c) {
                sysread($c->{s}, $c->{buf}, 65536, length $c->{buf});
                if ($c->{buf} =~ /\r\n\r\n.*data:/s) {
                    $first++;
                    close $c->{s};
                    $c->{done} = 1;
                }
            }
            sleep 0.02;
        }
        close $_->{s} for grep { !$_->{done} } @c;
        $done += @c;
        maybe_probe();
    }
    printf "streams: %d streamed answers, %d closed after the first event\n",
           $done, $first;
    check($first == $o{streams}, 'streams: every stream started');
}

###########################################################################
# many connections at once

{
    my $body = chat_body('hello');
    my (@s, $t0);
    $t0 = time();
    for (1 .. $o{conns}) {
        my $s = connect_nb() or last;
        write_all($s, head_of(length $body, Connection => 'close',
                              path => '/v1/wait/chat/completions')
                      . substr($body, 0, -1)) or last;
        push @s, $s;
    }
    my $opened = @s;
    printf "conns: %d connections open in %.1f s, each a byte short\n",
           $opened, time() - $t0;
    sleep 1;
    my ($st, $secs) = probe();
    push @probe_times, $secs;
    check($st == 200 && $secs < 2,
          sprintf('conns: a new request answered while %d wait (%d in %.2f s)',
                  $opened, $st, $secs));

    $t0 = time();
    write_all($_, substr($body, -1)) for @s;
    my %got;
    my %buf;
    my $sel = IO::Select->new(@s);
    while ($sel->count && time() - $t0 < 60) {
        for my $s ($sel->can_read(0.5)) {
            my $n = sysread($s, $buf{$s}, 65536, length($buf{$s} // ''));
            my @r = take_responses(\$buf{$s});
            if (@r || (defined $n && $n == 0)) {
                $got{ @r ? $r[0]{status} : 'closed' }++;
                $sel->remove($s);
                close $s;
            }
        }
    }
    $got{unanswered} = $sel->count if $sel->count;
    close $_ for $sel->handles;
    printf "  answers in %.1f s: %s\n", time() - $t0,
           join(', ', map { "$_: $got{$_}" } sort keys %got);
    check(($got{200} // 0) == $opened, "conns: all $opened answered 200");
    $count{conns_200} = $got{200} // 0;
}

###########################################################################
# pipelined requests

{
    my @kinds = (
        [ 200, chat_body('hello') ],
        [ 200, chat_body('Write a proof that there are infinitely many primes.') ],
        [ 400, '{"model":"auto","messages":[{"role":' ],
        [ 200, chat_body('y' x 40000) ],
        [ 200, undef ],                     # bodiless: the default tier
    );
    my (@c, %got, $want);
    for my $i (1 .. $o{pipelined}) {
        my $s = connect_nb() or next;
        my ($req, @expect) = ('');
        for my $j (0 .. $o{depth} - 1) {
            my ($st, $b) = @{ $kinds[($i + $j) % @kinds] };
            if (defined $b) {
                $req .= head_of(length $b) . $b;
            } else {
                $req .= "GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n";
            }
            push @expect, $st;
        }
        write_all($s, $req);
        push @c, { s => $s, buf => '', expect => \@expect, got => [] };
    }
    my $end = time() + 30;
    while (grep({ @{$_->{got}} < @{$_->{expect}} && !$_->{eof} } @c)
           && time() < $end)
    {
        for my $c (@c) {
            next if $c->{eof} || @{$c->{got}} >= @{$c->{expect}};
            my $n = sysread($c->{s}, $c->{buf}, 65536, length $c->{buf});
            $c->{eof} = 1 if defined $n && $n == 0;
            push @{$c->{got}}, map { $_->{status} } take_responses(\$c->{buf});
        }
        sleep 0.01;
    }
    my ($ok, $total, $bad) = (0, 0, '');
    for my $c (@c) {
        close $c->{s};
        for my $k (0 .. $#{$c->{expect}}) {
            $total++;
            my $g = $c->{got}[$k] // 'none';
            if ($g eq $c->{expect}[$k]) { $ok++ }
            else { $bad ||= "request $k: $g, want $c->{expect}[$k]" }
        }
    }
    printf "pipelined: %d connections x %d requests: %d/%d as expected%s\n",
           scalar @c, $o{depth}, $ok, $total, $bad ? " (first: $bad)" : '';
    check($ok == $total, 'pipelined: every answer in order, as expected');
}

###########################################################################
# at rest

printf "probes: %d, max %.3f s, %d failed or slower than 1 s\n",
       scalar @probe_times, max(@probe_times, 0), $probe_bad;
check($probe_bad == 0, 'probes: answered under 1 s throughout');

my $fds;
check(eventually(30, sub { ($fds = worker_fds()) <= $base_fds }),
      "at rest: worker fds back to baseline ($fds, baseline $base_fds)");
check(temp_files() == 0, 'at rest: no temp file');

my @log;
my $lines = -1;
my $st;
eventually(20, sub {
    @log = do { open(my $fh, '<', "$dir/routed.log") or die; <$fh> };
    $st = status();
    my $ok = @log == $lines && $st->{redis}{pending_deltas} == 0;
    $lines = @log;
    return $ok;
});
my %n = (requests => 0, rejected => 0);
my %statuses;
for (@log) {
    my ($status, $m) = /^(\d+) \S+ m=(\S*)/ or next;
    $n{ ($m eq '' || $m eq '-') ? 'rejected' : 'requests' }++;
    $statuses{$status}++;
}
printf "served: %d (%d with a model, %d rejected): %s\n", scalar @log,
       $n{requests}, $n{rejected},
       join(' ', map { "$_:$statuses{$_}" } sort keys %statuses);
printf "counters: instance requests %d rejected %d, fleet requests %d\n",
       $st->{instance}{requests}, $st->{instance}{rejected},
       $st->{fleet}{requests};
check($st->{instance}{requests} == $n{requests}
      && $st->{instance}{rejected} == $n{rejected},
      'counters: requests + rejected == served, exactly');
check($st->{fleet}{requests} == $st->{instance}{requests},
      'counters: fleet == instance');

my $errlog = $t->read_file('error.log');
my $crashes = () = $errlog =~ /exited on signal/g;
my $alerts = () = $errlog =~ /\[(?:alert|crit|emerg)\]/g;
check($crashes == 0, "no crashed worker ($crashes)");
check($alerts == 0, "no [alert]/[crit]/[emerg] ($alerts)");

if ($ENV{HOSTILE_KEEP}) {
    print "left in $dir\n";
    $t->{_leave} = $p->{_leave} = 1;
}
$t->shutdown;
$p->shutdown;

my $failed = grep { !$_->[0] } @checks;
printf "\n%d passed, %d failed\n", @checks - $failed, $failed;
exit($failed ? 1 : 0);
