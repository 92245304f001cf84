#!/usr/bin/perl

# One API for every provider: the official SDKs (openai, @anthropic-ai/sdk,
# @google/genai) through the gateway, each against a registry where the
# cheapest model of every tier speaks another API than the client's.  The
# request is translated for the model, its answer (JSON or a stream) back
# for the SDK, which must parse it: text, streams, tool calls streamed and
# not, tool results, images, failover from one foreign API to the other,
# the providers' errors in the client's shape, the usage charged.
#
# The mock providers (t/sdk/mock_provider.js) refuse a body that is not of
# their API, so a request written for the wrong API fails here.
#
# Needs node and t/sdk/node_modules, as t/24-sdk.t.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX qw(ceil WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

use LLMRouter::Test;

my $SDK = "$FindBin::Bin/sdk";
my $NODE = $ENV{TEST_NODE} // 'node';

if (system("\"$NODE\" --version >/dev/null 2>&1") != 0
    || grep { !-e "$SDK/node_modules/$_/package.json" }
            qw(openai @anthropic-ai/sdk @google/genai))
{
    fail('node and t/sdk/node_modules are there: (cd t/sdk && npm ci)');
    done_testing();
    exit;
}

my %GATEWAY_KEY = (
    openai    => 'sk-gateway-openai-7f3a',
    anthropic => 'sk-ant-gateway-91c2',
    gemini    => 'gateway-gemini-key-5d88',
);
my %CLIENT_KEY = (
    openai    => 'sk-client-openai-0001',
    anthropic => 'sk-ant-client-0001',
    gemini    => 'client-gemini-key-0001',
);
my %PROVIDER = (openai => 'openai', anthropic => 'anthropic', gemini => 'google');
my %SHORT = (openai => 'oa', anthropic => 'an', gemini => 'ge');

# for a client of API C: the cheapest low-tier model speaks X, the next
# Y; at the high tier Y then X; C's own models are the dearest
my %OTHERS = (
    openai    => [ 'anthropic', 'gemini' ],
    anthropic => [ 'gemini', 'openai' ],
    gemini    => [ 'openai', 'anthropic' ],
);

my @CASES = qw(trivial hard stream multiturn tools image stream_tools
               tool_result failover err400 err500 err429);

my $slow = $ENV{TEST_NGINX_VALGRIND} ? 20 : 1;

for my $client (qw(openai anthropic gemini)) {
    run_client($client);
}

done_testing();

###########################################################################

sub run_client {
    my ($client) = @_;
    my ($x, $y) = @{$OTHERS{$client}};
    my $c = $SHORT{$client};

    my $t = LLMRouter::Test->new->workers(1);
    my $dir = $t->testdir;

    # name => [api, tiers, input, output, caps]
    my @models = (
        [ "$c-$SHORT{$x}-low",  $x,      'trivial-simple',  0.05, 0.2, '' ],
        [ "$c-$SHORT{$y}-low",  $y,      'trivial-simple',  0.10, 0.4, '' ],
        [ "$c-own-low",         $client, 'trivial-simple',  0.50, 2,   '' ],
        [ "$c-$SHORT{$y}-high", $y,      'moderate-expert', 1,    4,   'vision,tools' ],
        [ "$c-$SHORT{$x}-high", $x,      'moderate-expert', 2,    8,   'vision,tools' ],
        [ "$c-own-high",        $client, 'moderate-expert', 10,   40,  'vision,tools' ],
    );
    my %model = map { $_->[0] => { api => $_->[1], id => "id-$_->[0]" } } @models;
    my %low = (x => "$c-$SHORT{$x}-low", y => "$c-$SHORT{$y}-low");
    my %high = (x => "$c-$SHORT{$x}-high", y => "$c-$SHORT{$y}-high");

    for my $api (keys %GATEWAY_KEY) {
        $t->write_file("$api.key", "$GATEWAY_KEY{$api}\n");
    }

    $ENV{MOCK_OUT} = "$dir/mocks.out";

    my ($conf_models, $upstreams) = ('', '');
    for my $m (@models) {
        my ($name, $api, $tiers, $in, $out, $caps) = @$m;
        my $port = $t->port("mock:$name");
        $model{$name}{port} = $port;
        $t->run_daemon('/bin/sh', '-c', 'exec "$0" "$@" >>"$MOCK_OUT" 2>&1',
            $NODE, "$SDK/mock_provider.js", '--port', $port, '--name', $name,
            '--log', "$dir/$name.log", '--key', $GATEWAY_KEY{$api});
        $conf_models .= "    llm_model $name provider=$PROVIDER{$api}"
            . " upstream=u_$name tiers=$tiers input=$in output=$out"
            . " context=1000000 id=$model{$name}{id}"
            . ($caps ? " caps=$caps" : '')
            . " key_file=%%TESTDIR%%/$api.key;\n";
        $upstreams .= "    upstream u_$name { server 127.0.0.1:$port; }\n";
    }

    # the Gemini client's run goes through nginx's buffered proxying (the
    # answers reach the translator by the event pipe), the others not
    my $buffering = $client eq 'gemini' ? 'on' : 'off';

    my $proxy = <<'EOF';
            proxy_pass http://$llm_upstream$llm_upstream_uri;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Accept-Encoding "";
            proxy_set_header Authorization $llm_header_authorization;
            proxy_set_header x-api-key $llm_header_x_api_key;
            proxy_set_header x-goog-api-key $llm_header_x_goog_api_key;
            proxy_set_header anthropic-version $llm_header_anthropic_version;
            proxy_buffering BUFFERING;
            proxy_intercept_errors on;
            error_page 429 500 502 503 504 = @llm_fallback;
            add_header X-LLM-Model $llm_model always;
            add_header X-LLM-Attempt $llm_attempt always;
            add_header X-LLM-Failed $llm_failed_models always;
            add_header X-LLM-Reason $llm_reason always;
EOF
    $proxy =~ s/BUFFERING/$buffering/;

    $t->write_file_expand('nginx.conf', <<"EOF");
%%TEST_GLOBALS%%
%%LOAD_MODULE%%

events {
    worker_connections 1024;
}

http {
    %%TEST_GLOBALS_HTTP%%

    llm_router_zone llm 1m;
    llm_health fails=100 error_rate=100% degraded_rate=100%;
    llm_route_max_body 64k;
    client_max_body_size 1m;

$conf_models
$upstreams
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        llm_route_max_attempts 2;
        recursive_error_pages on;

        location = /llm/status {
            llm_status;
        }

        location / {
            llm_route on;
$proxy
        }

        location \@llm_fallback {
            llm_route fallback;
$proxy
        }
    }
}
EOF

    for my $m (@models) {
        $t->waitforsocket("127.0.0.1:$model{$m->[0]}{port}", 10)
            or die "mock $m->[0] did not start:\n"
                   . (eval { $t->read_file('mocks.out') } // '');
    }

    $t->run;

    my @only = map { "$client/$_" } @CASES;
    push @only, "$client/image_url" if $client ne 'gemini';
    push @only, "$client/responses", "$client/responses_stream"
        if $client eq 'openai';

    # first, before the error cases take models down
    check_truncated({ t => $t, client => $client }, $low{x});

    local $ENV{RUN_FAIL_FIRST} = $low{x};
    my %result = map { ("$_->{case}" => $_) } run_matrix($t, $client, @only);

    my %received;
    for my $m (@models) {
        for my $line (split /\n/, eval { $t->read_file("$m->[0].log") } // '') {
            my $e = json_decode($line);
            ok($e, "$m->[0]: a log line is JSON") or next;
            my ($case) = ($e->{case} // '') =~ m{/(\w+)$};
            push @{$received{$case // ''}}, $e;
        }
    }

    my $ctx = {
        t => $t, client => $client, model => \%model, result => \%result,
        received => \%received,
    };

    # where each case must go: the cheapest model of its tier that can
    # serve it, of another API than the client's
    my %where = (
        trivial => $low{x}, stream => $low{x}, multiturn => $low{x},
        hard => $high{y}, tools => $high{y}, image => $high{y},
        stream_tools => $high{y}, tool_result => $high{y},
    );

    # OpenAI's Responses API, translated too
    @where{qw(responses responses_stream)} = ($low{x}, $low{x})
        if $client eq 'openai';

    # Gemini takes no image by URL: that request goes to the other API
    $where{image_url} = $y eq 'gemini' ? $high{x} : $high{y}
        if $client ne 'gemini';

    for my $case (sort keys %where) {
        check_generation($ctx, $case, $where{$case});
    }

    check_image_url($ctx, $where{image_url}, $y) if $client ne 'gemini';
    check_failover($ctx, $low{x}, $low{y});
    check_errors($ctx, $low{x}, $low{y});
    check_status($ctx);

    $t->stop;
    $t->stop_daemons;
}

sub run_matrix {
    my ($t, $client, @only) = @_;
    my $dir = $t->testdir;
    my $base = 'http://127.0.0.1:' . $t->nginx_port;
    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        open(STDOUT, '>', "$dir/run.jsonl") or POSIX::_exit(126);
        open(STDERR, '>', "$dir/run.err") or POSIX::_exit(126);
        exec { $NODE } $NODE, "$SDK/run.js", '--base', $base,
            '--timeout', 20000 * $slow, '--only', join(',', @only)
            or POSIX::_exit(127);
    }
    my $deadline = time + 300 * $slow;
    my $status;
    while (time < $deadline) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) { $status = $?; last }
        sleep 0.1;
    }
    unless (defined $status) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    is($status, 0, "$client: run.js ran")
        or diag(eval { $t->read_file('run.err') } // '');
    my @r;
    for my $line (split /\n/, eval { $t->read_file('run.jsonl') } // '') {
        my $o = json_decode($line);
        push @r, $o if $o && ref $o eq 'HASH';
    }
    is(scalar @r, scalar @only, "$client: every case reported");
    return @r;
}

sub last_http {
    my ($r) = @_;
    return ($r->{http} // [])->[-1] // {};
}

sub gen_path {
    my ($ctx, $m, $stream) = @_;
    my $api = $ctx->{model}{$m}{api};
    return '/v1/messages' if $api eq 'anthropic';
    return "/v1beta/models/$ctx->{model}{$m}{id}:"
        . ($stream ? 'streamGenerateContent' : 'generateContent')
        if $api eq 'gemini';
    return '/v1/chat/completions';
}

# what the provider got: its endpoint, its own key only, a body of its API
sub check_received {
    my ($ctx, $name, $e, $m, $stream) = @_;
    my $api = $ctx->{model}{$m}{api};
    is($e->{name}, $m, "$name: received by $m");
    is($e->{path}, gen_path($ctx, $m, $stream), "$name: $api endpoint");
    is($e->{query} // '', ($api eq 'gemini' && $stream) ? 'alt=sse' : '',
       "$name: the query is the model's API's");

    my $h = $e->{headers} // {};
    my @leak = grep { index($h->{$_} // '', $CLIENT_KEY{$ctx->{client}}) >= 0 }
               sort keys %$h;
    is("@leak", '', "$name: no header carries the client's key");
    if ($api eq 'openai') {
        is($h->{authorization}, "Bearer $GATEWAY_KEY{openai}", "$name: the gateway's key");
    } elsif ($api eq 'anthropic') {
        is($h->{'x-api-key'}, $GATEWAY_KEY{anthropic}, "$name: the gateway's key");
        is($h->{'anthropic-version'}, '2023-06-01', "$name: anthropic-version");
    } else {
        is($h->{'x-goog-api-key'}, $GATEWAY_KEY{gemini}, "$name: the gateway's key");
    }

    my $b = json_decode($e->{body} // '');
    ok(ref $b eq 'HASH', "$name: a JSON body") or return {};
    if ($api eq 'gemini') {
        ok(!exists $b->{model}, "$name: no model in a Gemini body");
        ok(ref $b->{contents} eq 'ARRAY', "$name: Gemini contents");
    } else {
        is($b->{model}, $ctx->{model}{$m}{id}, "$name: the model's id");
        ok(ref $b->{messages} eq 'ARRAY', "$name: messages");
    }
    if ($api eq 'anthropic') {
        ok(($b->{max_tokens} // 0) > 0, "$name: max_tokens, as Anthropic needs");
    }
    if ($api ne 'gemini') {
        is(!!$b->{stream}, !!$stream, "$name: stream " . ($stream ? 'on' : 'off'));
    }
    return $b;
}

sub check_generation {
    my ($ctx, $case, $m) = @_;
    my $client = $ctx->{client};
    my $name = "$client/$case";
    my $r = $ctx->{result}{$case};
    ok($r, "$name: run.js reported it") or return;
    ok($r->{ok}, "$name: the SDK call succeeded") or diag("error: " . ($r->{error} // ''));
    my @got = @{$ctx->{received}{$case} // []};
    is(join(' ', map { "$_->{name}:$_->{status}" } @got), "$m:200",
       "$name: one request, to $m");
    my $e = $got[0] or return;
    my $stream = $case =~ /stream/;
    my $b = check_received($ctx, $name, $e, $m, $stream);
    my $api = $ctx->{model}{$m}{api};

    my $sent = last_http($r);
    my $rh = $sent->{response_headers} // {};
    is($sent->{status}, 200, "$name: 200");
    is($rh->{'x-llm-model'}, $m, "$name: X-LLM-Model");
    like($rh->{'x-llm-reason'} // '', qr/(^|,)translated(,|$)/, "$name: reason translated");
    like($rh->{'content-type'} // '',
         $stream ? qr{^text/event-stream} : qr{^application/json},
         "$name: the client's content type");

    my $p = $r->{parsed} // {};
    if ($case =~ /tools/) {
        my $call = ($p->{tool_calls} // [])->[0] // {};
        is($call->{name}, 'get_weather', "$name: the SDK parsed the tool call");
        is_deeply(json_decode($call->{arguments} // 'null'), { city => 'Paris' },
                  "$name: the tool call's arguments");
        my $want = { openai => 'tool_calls', anthropic => 'tool_use', gemini => 'STOP' };
        my $fr = $p->{finish_reason} // $p->{stop_reason};
        is($fr, $want->{$client}, "$name: the client's finish reason for a call");
        check_tools_sent($name, $api, $b);
    } else {
        is($p->{text}, "mock answer from $m", "$name: the SDK parsed the answer of $m");
    }
    check_usage($name, $client, $p, $e) unless $case eq 'stream_tools' && $client eq 'anthropic';

    check_system_sent($name, $api, $b) if $case eq 'multiturn';
    check_image_sent($name, $api, $b) if $case eq 'image';
    check_tool_result_sent($name, $api, $b) if $case eq 'tool_result';
}

sub check_usage {
    my ($name, $client, $p, $e) = @_;
    my $u = $p->{usage} // {};
    my $in = ceil(length($e->{body} // '') / 4);
    my ($pi, $po) = $client eq 'openai' && !exists $u->{prompt_tokens}
                  ? @$u{qw(input_tokens output_tokens)}
                  : $client eq 'openai' ? @$u{qw(prompt_tokens completion_tokens)}
                  : $client eq 'anthropic' ? @$u{qw(input_tokens output_tokens)}
                  : @$u{qw(promptTokenCount candidatesTokenCount)};
    is($pi, $in, "$name: the provider's input tokens, in the client's usage");
    is($po, 7, "$name: the provider's output tokens, in the client's usage");
}

sub check_tools_sent {
    my ($name, $api, $b) = @_;
    my $schema;
    if ($api eq 'openai') {
        $schema = (($b->{tools} // [])->[0] // {})->{function}{parameters};
    } elsif ($api eq 'anthropic') {
        $schema = (($b->{tools} // [])->[0] // {})->{input_schema};
    } else {
        my $d = ((($b->{tools} // [])->[0] // {})->{functionDeclarations} // [])->[0] // {};
        $schema = $d->{parametersJsonSchema} // $d->{parameters};
    }
    is(ref $schema eq 'HASH' && $schema->{properties} && exists $schema->{properties}{city}
       ? 'city' : undef, 'city', "$name: the tool's schema in ${api}'s shape");
}

sub check_system_sent {
    my ($name, $api, $b) = @_;
    my $sys = $api eq 'openai' ? ($b->{messages}[0]{role} eq 'system' ? $b->{messages}[0]{content} : undef)
            : $api eq 'anthropic' ? (ref $b->{system} ? $b->{system}[0]{text} : $b->{system})
            : (($b->{systemInstruction} // {})->{parts} // [{}])->[0]{text};
    is($sys, 'You are a terse assistant.', "$name: the system prompt in ${api}'s place");
    my $turns = $api eq 'gemini' ? $b->{contents} : $b->{messages};
    my @roles = map { $_->{role} } @$turns;
    is("@roles", $api eq 'gemini' ? 'user model user'
               : $api eq 'anthropic' ? 'user assistant user'
               : 'system user assistant user', "$name: the turns in ${api}'s roles");
}

sub check_image_sent {
    my ($name, $api, $b) = @_;
    my $turns = $api eq 'gemini' ? $b->{contents} : $b->{messages};
    my $last = $turns->[-1] // {};
    my $parts = $api eq 'gemini' ? $last->{parts} : $last->{content};
    my ($img) = grep { ref $_ eq 'HASH'
                       && ($_->{inlineData} || ($_->{type} // '') =~ /^image/) } @{$parts // []};
    ok($img, "$name: the image in ${api}'s shape") or return;
    my $data = $api eq 'gemini' ? $img->{inlineData}{data}
             : $api eq 'anthropic' ? $img->{source}{data}
             : ($img->{image_url}{url} =~ s/^data:image\/png;base64,//r);
    like($data // '', qr/^iVBORw0KGgo/, "$name: its base64 bytes, whole");
}

sub check_tool_result_sent {
    my ($name, $api, $b) = @_;
    my $turns = $api eq 'gemini' ? $b->{contents} : $b->{messages};
    is(scalar @$turns, 3, "$name: question, call, result");
    if ($api eq 'openai') {
        my $id = $turns->[1]{tool_calls}[0]{id};
        is($turns->[1]{tool_calls}[0]{function}{name}, 'get_weather', "$name: the call");
        is($turns->[2]{role}, 'tool', "$name: a tool message");
        is($turns->[2]{tool_call_id}, $id, "$name: for the call's id");
        like(ref $turns->[2]{content} ? $turns->[2]{content}[0]{text} : $turns->[2]{content},
             qr/18 degrees and sunny/, "$name: the result");
    } elsif ($api eq 'anthropic') {
        my ($use) = grep { $_->{type} eq 'tool_use' } @{$turns->[1]{content}};
        my ($res) = grep { $_->{type} eq 'tool_result' } @{$turns->[2]{content}};
        is(($use // {})->{name}, 'get_weather', "$name: the call");
        ok($res, "$name: a tool_result block") or return;
        is($res->{tool_use_id}, $use->{id}, "$name: for the call's id");
        like(ref $res->{content} ? $res->{content}[0]{text} : $res->{content},
             qr/18 degrees and sunny/, "$name: the result");
    } else {
        my ($call) = grep { $_->{functionCall} } @{$turns->[1]{parts}};
        my ($res) = grep { $_->{functionResponse} } @{$turns->[2]{parts}};
        is(($call // {})->{functionCall}{name}, 'get_weather', "$name: the call");
        is(($res // {})->{functionResponse}{name}, 'get_weather', "$name: the response names it");
        like(json_encode(($res // {})->{functionResponse}{response} // {}),
             qr/18 degrees and sunny/, "$name: the result");
        is($turns->[1]{role}, 'model', "$name: the call is the model's turn");
    }
}

sub check_image_url {
    my ($ctx, $m, $y) = @_;
    my $name = "$ctx->{client}/image_url";
    my $r = $ctx->{result}{image_url} or return;
    my $rh = last_http($r)->{response_headers} // {};
    if ($y eq 'gemini') {
        like($rh->{'x-llm-reason'} // '', qr/untranslatable:image_url/,
             "$name: Gemini was left out, and the reason says why");
    }
    my $e = ($ctx->{received}{image_url} // [])->[0] or return;
    my $b = json_decode($e->{body} // '') // {};
    like(json_encode($b), qr{https://example\.com/pixel\.png}, "$name: the URL was sent as is");
}

sub check_failover {
    my ($ctx, $first, $next) = @_;
    my $name = "$ctx->{client}/failover";
    my $r = $ctx->{result}{failover};
    ok($r, "$name: run.js reported it") or return;
    ok($r->{ok}, "$name: the SDK call succeeded") or diag("error: " . ($r->{error} // ''));
    my @got = @{$ctx->{received}{failover} // []};
    is(join(' ', map { "$_->{name}:$_->{status}" } @got), "$first:503 $next:200",
       "$name: $first ($ctx->{model}{$first}{api}) failed, $next"
       . " ($ctx->{model}{$next}{api}) answered");
    return unless @got == 2;
    check_received($ctx, "$name (1st)", $got[0], $first);
    check_received($ctx, "$name (2nd)", $got[1], $next);
    my $rh = last_http($r)->{response_headers} // {};
    is($rh->{'x-llm-model'}, $next, "$name: X-LLM-Model");
    is($rh->{'x-llm-failed'}, $first, "$name: X-LLM-Failed");
    is(($r->{parsed} // {})->{text}, "mock answer from $next", "$name: the answer of $next");
    check_usage($name, $ctx->{client}, $r->{parsed} // {}, $got[1]);
}

my %TYPE_OF;
BEGIN {
    %TYPE_OF = (
        400 => { openai => 'invalid_request_error', anthropic => 'invalid_request_error',
                 gemini => 'INVALID_ARGUMENT' },
        429 => { openai => 'rate_limit_error', anthropic => 'rate_limit_error',
                 gemini => 'RESOURCE_EXHAUSTED' },
        500 => { openai => 'server_error', anthropic => 'api_error', gemini => 'INTERNAL' },
    );
}

sub check_errors {
    my ($ctx, $first, $next) = @_;
    my $client = $ctx->{client};
    for my $case ([ 'err400', 400, "$first:400" ],
                  [ 'err500', 500, "$first:500 $next:500" ],
                  [ 'err429', 429, "$first:429 $next:429" ]) {
        my ($c, $status, $chain) = @$case;
        my $name = "$client/$c";
        my $r = $ctx->{result}{$c};
        ok($r, "$name: run.js reported it") or next;
        ok(!$r->{ok}, "$name: the SDK call failed");
        my @got = @{$ctx->{received}{$c} // []};
        is(join(' ', map { "$_->{name}:$_->{status}" } @got), $chain,
           "$name: the attempts");
        my $err = ($r->{parsed} // {})->{error} // {};
        is($err->{status}, $status, "$name: the SDK saw $status");
        my $http = last_http($r);
        my $body = json_decode($http->{response_body} // '') // {};
        my $last = (split / /, $chain)[-1] =~ s/:.*//r;
        if ($client eq 'openai') {
            is($body->{error}{type}, $TYPE_OF{$status}{openai}, "$name: OpenAI's error type");
        } elsif ($client eq 'anthropic') {
            is($body->{type}, 'error', "$name: Anthropic's error shape");
            is($body->{error}{type}, $TYPE_OF{$status}{anthropic}, "$name: its type");
        } else {
            is($body->{error}{code}, $status, "$name: Gemini's error shape");
            is($body->{error}{status}, $TYPE_OF{$status}{gemini}, "$name: its status");
        }
        if ($status == 400) {
            like($err->{message} // '', qr/mock error $status from \Q$last\E/,
                 "$name: the provider's message");
        } else {
            like($err->{message} // '', qr/all attempts failed \(tried: \Q$first,$next\E\)/,
                 "$name: the gateway's, once every attempt failed");
        }
        is($http->{response_headers}{'retry-after'}, '7', "$name: Retry-After kept")
            if $status == 429;
    }
}

sub check_status {
    my ($ctx) = @_;
    my $client = $ctx->{client};
    my $t = $ctx->{t};
    my $s = $t->http_get('/llm/status')->{json} // {};
    my $models = ($s->{instance} // {})->{models} // {};
    my $n = 0;
    for my $m (sort keys %{$ctx->{model}}) {
        my $api = $ctx->{model}{$m}{api};
        my $from = ($models->{$m} // {})->{translated_from} // {};
        is($models->{$m}{api}, $api, "$client status: $m speaks $api") if $models->{$m};
        is($from->{$api} // 0, 0, "$client status: $m translated nothing from its own API");
        $n += $from->{$client} // 0;
    }
    ok($n >= 10, "$client status: the models served $n requests translated from $client");
}

# a provider's answer that ends halfway: the client gets an error in its
# API's shape, as a JSON answer (502) or at the end of its stream

sub check_truncated {
    my ($ctx, $m) = @_;
    my $client = $ctx->{client};
    my $t = $ctx->{t};
    my %req = (
        openai => [ '/v1/chat/completions',
                    { model => 'x', messages => [ { role => 'user', content => 'hi' } ] } ],
        anthropic => [ '/v1/messages', { model => 'x', max_tokens => 20,
                    messages => [ { role => 'user', content => 'hi' } ] } ],
        gemini => [ '/v1beta/models/x:generateContent',
                    { contents => [ { role => 'user', parts => [ { text => 'hi' } ] } ] } ],
    );
    my ($path, $body) = @{$req{$client}};
    my $name = "$client/truncated";

    my $r = $t->http_post($path, $body, 'X-Mock-Truncate' => '1');
    is($r->{status}, 502, "$name: a JSON answer cut halfway: 502");
    is($r->{headers}{'x-llm-model'}, $m, "$name: from $m");
    my $j = $r->{json} // {};
    ok($client eq 'anthropic' ? ($j->{type} // '') eq 'error'
                              : ref $j->{error} eq 'HASH',
       "$name: an error in the client's shape") or diag($r->{content});

    if ($client eq 'gemini') {
        $path = '/v1beta/models/x:streamGenerateContent?alt=sse';
    } else {
        $body = { %$body, stream => JSON::PP::true() };
    }
    $r = $t->http_post($path, $body, 'X-Mock-Truncate' => '1');
    is($r->{status}, 200, "$name: a stream cut halfway: 200, sent");
    my @data = $r->{content} =~ /^data: (.*)$/mg;
    ok(@data >= 2, "$name: the events before the cut") or diag($r->{content});
    if ($client eq 'openai') {
        is($data[-1], '[DONE]', "$name: then [DONE]");
        like($data[-2], qr/"error"/, "$name: after an error event");
    } elsif ($client eq 'anthropic') {
        like($r->{content}, qr/^event: error$/m, "$name: an error event");
        like($data[-1], qr/"message_stop"/, "$name: then message_stop");
    } else {
        like($data[-1], qr/"error"/, "$name: ends with an error chunk");
    }
}
