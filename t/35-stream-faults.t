#!/usr/bin/perl

# Streams that go wrong after their headers: the provider stalls past
# proxy_read_timeout, resets the connection in the middle of an event,
# sends an event that is not JSON, sends its own error event, or ends
# before its last event (t/sdk/mock_provider.js, X-Mock-Fault and
# X-Mock-Truncate).  For a client of each API, served by a model of its
# own API and, translated, by one of another: the response is a whole
# HTTP response (its chunked encoding ended), every event is whole, the
# stream ends with an error event in the client's format and the end its
# SDK expects; health counts a stall as a timeout and a reset as an error.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

use LLMRouter::Test;

my $SDK = "$FindBin::Bin/sdk";
my $NODE = $ENV{TEST_NODE} // 'node';

if (system("\"$NODE\" --version >/dev/null 2>&1") != 0) {
    fail('node is there (apt-get install nodejs)');
    done_testing();
    exit;
}

my $t = LLMRouter::Test->new->workers(1);
my $dir = $t->testdir;

my %PROVIDER = (openai => 'openai', anthropic => 'anthropic', gemini => 'google');
my %MODEL = (openai => 'oa', anthropic => 'an', gemini => 'ge');

$ENV{MOCK_OUT} = "$dir/mocks.out";

my ($models, $upstreams) = ('', '');
my %port;
for my $api (qw(openai anthropic gemini)) {
    my $m = $MODEL{$api};
    $port{$m} = $t->port("mock:$m");
    $t->run_daemon('/bin/sh', '-c', 'exec "$0" "$@" >>"$MOCK_OUT" 2>&1',
        $NODE, "$SDK/mock_provider.js", '--port', $port{$m}, '--name', $m,
        '--log', "$dir/$m.log");
    $models .= "    llm_model $m provider=$PROVIDER{$api} upstream=u_$m"
        . " tiers=trivial-expert input=1 output=1 id=id-$m;\n";
    $upstreams .= "    upstream u_$m { server 127.0.0.1:$port{$m}; }\n";
}

my $proxy = <<'EOF';
            proxy_pass http://$llm_upstream$llm_upstream_uri;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 1s;
            add_header X-LLM-Model $llm_model always;
EOF

$t->write_file_expand('nginx.conf', <<"EOF");
%%TEST_GLOBALS%%
%%LOAD_MODULE%%

events {
    worker_connections 1024;
}

http {
    %%TEST_GLOBALS_HTTP%%

    llm_router_zone llm 1m;
    llm_health fails=1000 error_rate=100% degraded_rate=100%;

$models
$upstreams
    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location = /llm/status {
            llm_status;
        }

        # each client among its own API's models
        location /same/ {
            llm_route on;
            llm_route_translate off;
$proxy
        }

        # translated: X-LLM-Prefer names the other API's provider
        location /x/ {
            llm_route on;
$proxy
        }

        # buffered: what the client does not take yet goes to a temp file,
        # up to proxy_max_temp_file_size; then nginx stops reading
        location /buf/ {
            llm_route on;
            proxy_pass http://\$llm_upstream\$llm_upstream_uri;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering on;
            proxy_buffers 4 16k;
            proxy_max_temp_file_size 1m;
            proxy_temp_file_write_size 32k;
            proxy_read_timeout 10s;
        }
    }
}
EOF

for my $m (values %MODEL) {
    $t->waitforsocket("127.0.0.1:$port{$m}", 10) or die "mock $m did not start\n";
}

$t->allow_log(qr/upstream timed out|upstream prematurely closed|recv\(\) failed/);
$t->run;

my %REQ = (
    openai => [ '/v1/chat/completions',
                '{"model":"x","stream":true,"messages":[{"role":"user","content":"hi"}]}' ],
    anthropic => [ '/v1/messages',
                '{"model":"x","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"hi"}]}' ],
    gemini => [ '/v1beta/models/x:streamGenerateContent?alt=sse',
                '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}' ],
);

# the other API a client's translated requests go to
my %OTHER = (openai => 'anthropic', anthropic => 'gemini', gemini => 'openai');

sub status_of {
    my ($m) = @_;
    my $s = $t->http_get('/llm/status')->{json} // {};
    return (($s->{instance} // {})->{models} // {})->{$m} // {};
}

# the events of a stream: [name, data] each; a trailing piece with no
# blank line after it is an event cut in half
sub events {
    my ($body) = @_;
    my @ev;
    my @parts = split /\r\n\r\n|\n\n|\r\r/, $body, -1;
    my $tail = pop @parts;
    for my $p (@parts) {
        next unless length $p;
        my ($name) = $p =~ /^event: ?(.*)$/m;
        my @data = $p =~ /^data: ?(.*?)\r?$/mg;
        push @ev, [ $name, join("\n", @data) ];
    }
    return (\@ev, $tail);
}

for my $client (qw(openai anthropic gemini)) {
    for my $target ($client, $OTHER{$client}) {
        my $m = $MODEL{$target};
        my $how = $target eq $client ? 'untranslated' : "translated to $target";
        my ($path, $body) = @{$REQ{$client}};
        my $loc = $target eq $client ? '/same' : '/x';

        for my $fault (qw(truncate stall reset garble error)) {
            my $name = "$client, $how, $fault";
            my %h = $fault eq 'truncate' ? ('X-Mock-Truncate' => '1')
                                         : ('X-Mock-Fault' => $fault);
            $h{'X-LLM-Prefer'} = $PROVIDER{$target} if $loc eq '/x';
            my $before = status_of($m);

            my $r = $t->http_request('POST', "$loc$path", body => $body,
                headers => { 'Content-Type' => 'application/json', %h },
                timeout => 10);

            is($r->{status}, 200, "$name: 200, the response whole")
                or diag($r->{content});
            is($r->{headers}{'x-llm-model'}, $m, "$name: served by $m");

            my ($ev, $tail) = events($r->{content} // '');
            is($tail, '', "$name: no event cut in half");
            ok(@$ev >= 2, "$name: the events before the fault");

            my @bad = grep { $_->[1] ne '[DONE]' && !defined json_decode($_->[1]) }
                      @$ev;
            if ($fault eq 'garble' && $target eq $client) {
                # the client's own API: the provider's stream as it sent it
                is(scalar @bad, 1, "$name: the provider's bad event passed on");
            } else {
                is(scalar @bad, 0, "$name: every event is JSON")
                    or diag(join "\n", map { $_->[1] } @bad);
            }

            # the end: an error in the client's format, then its end
            my @tailev = grep { defined json_decode($_->[1]) || $_->[1] eq '[DONE]' } @$ev;
            my $lastj = json_decode($tailev[-1][1] // '') // {};
            if ($client eq 'openai') {
                if ($fault eq 'error' && $target eq $client) {
                    ok(ref $lastj->{error} eq 'HASH', "$name: ends with the provider's error");
                } else {
                    is($tailev[-1][1], '[DONE]', "$name: ends with [DONE]");
                    my $e = json_decode($tailev[-2][1] // '') // {};
                    ok(ref $e->{error} eq 'HASH', "$name: after an error event")
                        or diag($r->{content});
                }
            } elsif ($client eq 'anthropic') {
                my ($err) = grep { ($_->[0] // '') eq 'error' } @$ev;
                ok($err, "$name: an error event") or diag($r->{content});
                my $j = json_decode(($err // [])->[1] // '') // {};
                is($j->{type}, 'error', "$name: in Anthropic's shape");
            } else {
                ok(ref $lastj->{error} eq 'HASH', "$name: ends with an error chunk")
                    or diag($r->{content});
            }

            # health: a stall is a timeout, a reset an error
            if ($fault eq 'stall' || $fault eq 'reset') {
                my $key = $fault eq 'stall' ? 'errors_timeout' : 'errors_5xx';
                ok(eventually(5, sub {
                    (status_of($m)->{$key} // 0) > ($before->{$key} // 0)
                }), "$name: $m: $key counted");
            }
            ok(eventually(5, sub {
                (status_of($m)->{requests} // 0) > ($before->{requests} // 0)
            }), "$name: the request is charged to $m");
        }
    }
}

###########################################################################
# events larger than what waits for its end (1 MB) go on as they come;
# translated, an event is read whole up to 8 MB, past that the stream
# ends with an error event

my $MB = 1024 * 1024;
for my $case ([ '/same', 'openai', 3 * $MB, 2 * $MB, 1 ],
              [ '/x', 'anthropic', 3 * $MB, 2 * $MB, 1 ],
              [ '/x', 'anthropic', 9 * $MB, 9 * $MB, 0 ]) {
    my ($loc, $target, $bytes, $delta, $whole) = @$case;
    my $name = sprintf('an event of %d MB, %s', $delta / $MB,
        $loc eq '/x' ? "translated from $target" : 'untranslated');
    my ($path, $body) = @{$REQ{openai}};
    my %h = ('Content-Type' => 'application/json',
             'X-Mock-Stream-Bytes' => $bytes, 'X-Mock-Delta-Bytes' => $delta);
    $h{'X-LLM-Prefer'} = $PROVIDER{$target} if $loc eq '/x';

    my $r = $t->http_request('POST', "$loc$path", body => $body,
                             headers => \%h, timeout => 20);
    is($r->{status}, 200, "$name: 200, the response whole");
    my ($ev, $tail) = events($r->{content} // '');
    is($tail, '', "$name: no event cut in half");
    my $text = 0;
    my $err;
    for (@$ev) {
        my $j = json_decode($_->[1]) // next;
        $err //= $j->{error};
        $text += length($j->{choices}[0]{delta}{content} // '')
            if ref $j->{choices} eq 'ARRAY' && @{$j->{choices}};
    }
    is(($ev->[-1] // [])->[1], '[DONE]', "$name: ends with [DONE]");
    if ($whole) {
        is($text, $bytes, "$name: all the text arrived");
        ok(!$err, "$name: no error event");
    } else {
        ok($text < $bytes, "$name: the text before it ($text bytes)");
        ok(ref $err eq 'HASH', "$name: an error event, then the end")
            or diag(substr($r->{content} // '', -400));
    }
}

###########################################################################
# the official SDKs read those ends: each throws its own API error, with
# the gateway's message, after the text that came before the fault

if (grep { !-e "$SDK/node_modules/$_/package.json" }
         qw(openai @anthropic-ai/sdk @google/genai))
{
    fail('t/sdk/node_modules is there: (cd t/sdk && npm ci)');
}

sub sdk_fault {
    my ($client, $loc, $headers) = @_;
    local $ENV{RUN_HEADERS} = json_encode($headers);
    my $out = `"$NODE" "$SDK/run.js" --base http://127.0.0.1:@{[ $t->nginx_port ]}$loc --only $client/fault_stream --timeout 10000 2>&1`;
    return json_decode((split /\n/, $out)[0] // '') // { error => $out };
}

my %FAULT_MSG = (reset => qr/broke off/, truncate => qr/ended early/);

for my $client (qw(openai anthropic gemini)) {
    for my $target ($client, $OTHER{$client}) {
        for my $fault (qw(reset truncate)) {
            my $loc = $target eq $client ? '/same' : '/x';
            my $name = "$client SDK, "
                . ($target eq $client ? 'untranslated' : "translated to $target")
                . ", $fault";
            my %h = $fault eq 'truncate' ? ('X-Mock-Truncate' => '1')
                                         : ('X-Mock-Fault' => $fault);
            $h{'X-LLM-Prefer'} = $PROVIDER{$target} if $loc eq '/x';

            my $r = sdk_fault($client, $loc, \%h);
            ok(!$r->{ok}, "$name: the SDK call failed")
                or diag(json_encode($r));
            my $e = ($r->{parsed} // {})->{error} // {};
            # a translated stream's end is the translator's: "ended early"
            like($e->{message} // $r->{error} // '',
                 $target eq $client ? $FAULT_MSG{$fault} : qr/ended early/,
                 "$name: with the gateway's message, as its API's error")
                or diag(json_encode($r));
            like(($r->{partial} // {})->{text} // '', qr/^mock/,
                 "$name: after the text that came before");
        }
    }
}

###########################################################################
# a client that stops reading while the provider streams 8 MB: the
# worker's memory stays bounded (nginx's buffers, not a queue of ours),
# translated or not, and the whole stream arrives once it reads again

sub rss_kb {
    my ($pid) = @_;
    open(my $fh, '<', "/proc/$pid/status") or return 0;
    while (<$fh>) {
        return $1 if /^VmRSS:\s+(\d+)/;
    }
    return 0;
}

my ($worker) = $t->worker_pids;
my $bytes = 8 * 1024 * 1024;

# a streamed OpenAI request on a connection of its own, its headers given
sub raw_post {
    my ($uri, %h) = @_;
    my $body = $REQ{openai}[1];
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->nginx_port)
        or die "connect: $!\n";
    print $s "POST $uri HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        . "Content-Type: application/json\r\n"
        . join('', map { "$_: $h{$_}\r\n" } sort keys %h)
        . "Content-Length: " . length($body) . "\r\n\r\n$body";
    return $s;
}

# what is left to read, to the end
sub read_rest {
    my ($s) = @_;
    my ($got, $buf) = ('', '');
    $s->blocking(1);
    while (sysread($s, $buf, 1 << 20)) {
        $got .= $buf;
    }
    close $s;
    return $got;
}

# a stream read once the client reads again: all of it, whole
sub stream_whole {
    my ($name, $got, $bytes) = @_;
    like($got, qr/^HTTP\/1\.1 200/, "$name: 200");
    my $text = 0;
    $text += length($1) while $got =~ /"content":"([^"]*)"/g;
    ok($text >= $bytes, "$name: all the text arrived ($text bytes)");
    like($got, qr/data: \[DONE\]/, "$name: to its end");
    like($got, qr/\r\n0\r\n\r\n\z/, "$name: the response whole");
}

for my $case ([ '/same', 'openai', 'oa' ], [ '/x', 'anthropic', 'an' ]) {
    my ($loc, $target, $m) = @$case;
    my $name = "a client that stops reading, "
        . ($loc eq '/x' ? "translated from $target" : 'untranslated');
    my $rss0 = rss_kb($worker);

    my $s = raw_post("$loc$REQ{openai}[0]", 'X-Mock-Stream-Bytes' => $bytes,
                     $loc eq '/x' ? ('X-LLM-Prefer' => 'anthropic') : ());

    # the provider streams all of it meanwhile; the client reads nothing
    sleep 3;
    my $rss1 = rss_kb($worker);
    my $got = read_rest($s);

    my $grew = $rss1 - $rss0;
    ok($grew < 4096, "$name: the worker grew $grew KB while it waited "
       . "(the stream is 8 MB)");
    stream_whole($name, $got, $bytes);
}

###########################################################################
# the same with proxy_buffering on: nginx reads ahead into its buffers and
# a temp file of at most proxy_max_temp_file_size, then stops reading the
# provider; the client gets all of it once it reads, the temp file goes

# the temp files a process holds open (nginx unlinks them at once): their
# count and total size
sub temp_held {
    my ($pid) = @_;
    my ($n, $size) = (0, 0);
    opendir(my $d, "/proc/$pid/fd") or return (0, 0);
    for my $fd (grep { /^\d+$/ } readdir $d) {
        my $l = readlink("/proc/$pid/fd/$fd") // next;
        next unless $l =~ m{/proxy_temp/};
        $n++;
        $size += (stat("/proc/$pid/fd/$fd"))[7] // 0;
    }
    return ($n, $size);
}

my $big = 10 * 1024 * 1024;
for my $case ([ 'openai', 'oa' ], [ 'anthropic', 'an' ]) {
    my ($prefer, $m) = @$case;
    my $name = "proxy_buffering on, a client that stops reading, "
        . ($prefer eq 'openai' ? 'untranslated' : "translated from $prefer");
    my $before = status_of($m);
    my $rss0 = rss_kb($worker);

    my $s = raw_post("/buf$REQ{openai}[0]", 'X-Mock-Stream-Bytes' => $big,
                     'X-LLM-Prefer' => $prefer);

    sleep 3;
    my $rss1 = rss_kb($worker);
    my ($files, $size) = temp_held($worker);
    my $got = read_rest($s);

    my $grew = $rss1 - $rss0;
    ok($grew < 4096, "$name: the worker grew $grew KB while it waited "
       . "(the stream is 10 MB)");
    ok($files <= 1 && $size <= 1024 * 1024 + 64 * 1024,
       "$name: at most proxy_max_temp_file_size on disk ($files file, "
       . "$size bytes)");
    stream_whole($name, $got, $big);
    ok(eventually(10, sub { (temp_held($worker))[0] == 0 }),
       "$name: no temp file held afterwards");
    ok(eventually(10, sub {
        my $a = status_of($m);
        ($a->{requests} // 0) > ($before->{requests} // 0)
            && ($a->{cost_estimated_usd} // 0)
               == ($before->{cost_estimated_usd} // 0)
    }), "$name: charged to $m with the provider's usage");
}

###########################################################################
# a client that goes away mid-stream: the provider's connection is closed
# (nginx finds out at its next write) and the request is charged what was
# produced (here: the estimate, the provider's usage never came)

for my $case ([ '/same', 'openai', 'oa' ], [ '/x', 'anthropic', 'an' ]) {
    my ($loc, $target, $m) = @$case;
    my $name = "a client that goes away, "
        . ($loc eq '/x' ? "translated from $target" : 'untranslated');
    my $before = status_of($m);

    my $s = raw_post("$loc$REQ{openai}[0]", 'X-Mock-Chunk-Delay' => 300,
                     $loc eq '/x' ? ('X-LLM-Prefer' => 'anthropic') : ());

    my $buf = '';
    sysread($s, $buf, 65536) until $buf =~ /data:/;
    close $s;

    ok(eventually(10, sub {
        (status_of($m)->{requests} // 0) > ($before->{requests} // 0)
    }), "$name: the request is charged to $m");
    my $after = status_of($m);
    ok(($after->{cost_estimated_usd} // 0) > ($before->{cost_estimated_usd} // 0),
       "$name: an estimate, flagged as such (cost_estimated_usd)");
}

###########################################################################
# a Gemini stream without alt=sse is one JSON array in pieces, which only
# Gemini's models write: with none of them, the refusal says so

{
    my $u = LLMRouter::Test->new->workers(1);
    $u->write_file_expand('nginx.conf', <<"EOF");
%%TEST_GLOBALS%%
%%LOAD_MODULE%%

events {
    worker_connections 64;
}

http {
    %%TEST_GLOBALS_HTTP%%

    llm_router_zone llm 1m;
    llm_model oa provider=openai upstream=u_oa tiers=trivial-expert input=1 output=1 id=id-oa;
    upstream u_oa { server 127.0.0.1:$port{oa}; }

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location / {
            llm_route on;
            proxy_pass http://\$llm_upstream\$llm_upstream_uri;
            proxy_buffering off;
        }
    }
}
EOF
    $u->run;
    my $body = $REQ{gemini}[1];
    my $r = $u->http_request('POST', '/v1beta/models/x:streamGenerateContent',
        body => $body, headers => { 'Content-Type' => 'application/json' });
    is($r->{status}, 422, 'a Gemini stream without alt=sse, no Gemini model: 422');
    like(($r->{json} // {})->{error}{message} // '',
         qr/no configured model serves the gemini API; a Gemini stream is served by another API's model only with alt=sse/,
         '  the message says how it could go');
    $r = $u->http_request('POST', '/v1beta/models/x:streamGenerateContent?alt=sse',
        body => $body, headers => { 'Content-Type' => 'application/json' });
    is($r->{status}, 200, 'with alt=sse: translated, 200');
    like($r->{content} // '', qr/"candidates"/, '  in Gemini\'s shape');
    $u->allow_log(qr/no model for the request/);
    $u->stop;
}

done_testing();
