#!/usr/bin/perl

# The official provider SDKs (openai, @anthropic-ai/sdk, @google/genai,
# pinned by t/sdk/package-lock.json) through the gateway, on one registry
# that mixes the three APIs, against mock providers (t/sdk/mock_provider.js).
#
# t/sdk/run.js makes every call and prints what each SDK sent, what came
# back and what the SDK made of it; each mock logs what it received.  For
# every case both ends are checked: the SDK's parsed answer (text, tool
# call, usage, error status/type/shape, Retry-After) and the provider's
# request (endpoint, body byte for byte but the model, credentials).
#
# Needs node and t/sdk/node_modules: (cd t/sdk && npm ci).  Without them
# the test fails; it does not skip.  TEST_NODE names another node binary.

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
my @PACKAGES = qw(openai @anthropic-ai/sdk @google/genai);

###########################################################################
# node and the SDKs must be there

sub node_problem {
    my $v = `"$NODE" --version 2>&1`;
    return "node not found ($NODE): install nodejs and npm"
        . " (apt-get install nodejs npm), then (cd t/sdk && npm ci)"
        if $? != 0 || !defined $v;
    my ($major) = $v =~ /^v(\d+)\./;
    return "node $v is too old: 18 or later is needed"
        unless defined $major && $major >= 18;
    my @missing = grep { !-e "$SDK/node_modules/$_/package.json" } @PACKAGES;
    return "t/sdk/node_modules lacks @missing: run (cd t/sdk && npm ci)"
        if @missing;
    return undef;
}

if (my $why = node_problem()) {
    fail("the SDK matrix can run: $why");
    done_testing();
    exit;
}

###########################################################################
# the registry: three APIs, Gemini's models the cheapest at every tier, so
# a request sent to a model of another API would show

my $t = LLMRouter::Test->new->workers(2);
my $dir = $t->testdir;

my %GATEWAY_KEY = (
    openai    => 'sk-gateway-openai-7f3a',
    anthropic => 'sk-ant-gateway-91c2',
    gemini    => 'gateway-gemini-key-5d88',
);

# name => [api, id, tiers, input, output, caps, key_file]
my @MODELS = (
    [ 'oa-mini',  'openai',    'gpt-mini',     'trivial-simple',  0.15, 0.60, '',             1 ],
    [ 'oa-mini2', 'openai',    'gpt-mini-2',   'trivial-simple',  0.30, 1.20, '',             0 ],
    [ 'oa-big',   'openai',    'gpt-big',      'moderate-expert', 2.50, 10,   'vision,tools', 1 ],
    [ 'an-haiku', 'anthropic', 'claude-haiku', 'trivial-simple',  0.80, 4,    '',             1 ],
    [ 'an-opus',  'anthropic', 'claude-opus',  'moderate-expert', 15,   75,   'vision,tools', 1 ],
    [ 'ge-flash', 'gemini',    'gemini-flash', 'trivial-simple',  0.05, 0.20, '',             1 ],
    [ 'ge-pro',   'gemini',    'gemini-pro',   'moderate-expert', 1.25, 5,    'vision,tools', 1 ],
);
my %MODEL = map { $_->[0] => { name => $_->[0], api => $_->[1], id => $_->[2],
                               key_file => $_->[7] } } @MODELS;

my %PROVIDER = (openai => 'openai', anthropic => 'anthropic', gemini => 'google');

# the client's credentials, as run.js holds them
my %CLIENT_KEY = (
    openai    => 'sk-client-openai-0001',
    anthropic => 'sk-ant-client-0001',
    gemini    => 'client-gemini-key-0001',
);

# key files end with a newline, as an editor leaves them
for my $api (keys %GATEWAY_KEY) {
    $t->write_file("$api.key", "$GATEWAY_KEY{$api}\n");
}

# the mocks' output (each prints "ready" and its errors)
$ENV{MOCK_OUT} = "$dir/mocks.out";

# one mock per model; a model with a key_file gets a mock that takes only
# the gateway's key, the one without takes the client's (passed through)
for my $m (@MODELS) {
    my ($name, $api) = @$m;
    my $key = $MODEL{$name}{key_file} ? $GATEWAY_KEY{$api} : $CLIENT_KEY{$api};
    my $port = $t->port("mock:$name");
    $MODEL{$name}{port} = $port;
    $t->run_daemon('/bin/sh', '-c', 'exec "$0" "$@" >>"$MOCK_OUT" 2>&1',
        $NODE, "$SDK/mock_provider.js", '--port', $port, '--name', $name,
        '--log', "$dir/$name.log", '--key', $key);
}

my $models = '';
my $upstreams = '';
for my $m (@MODELS) {
    my ($name, $api, $id, $tiers, $in, $out, $caps, $kf) = @$m;
    $models .= "    llm_model $name provider=$PROVIDER{$api} upstream=u_$name"
        . " tiers=$tiers input=$in output=$out context=1000000 id=$id"
        . ($caps ? " caps=$caps" : '')
        . ($kf ? " key_file=%%TESTDIR%%/$api.key" : '') . ";\n";
    $upstreams .= "    upstream u_$name { server 127.0.0.1:$MODEL{$name}{port};"
        . " keepalive 4; }\n";
}

my $proxy = <<'EOF';
            proxy_pass http://$llm_upstream$llm_upstream_uri;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization $llm_header_authorization;
            proxy_set_header x-api-key $llm_header_x_api_key;
            proxy_set_header x-goog-api-key $llm_header_x_goog_api_key;
            proxy_set_header anthropic-version $llm_header_anthropic_version;
            proxy_buffering off;
            proxy_intercept_errors on;
            error_page 429 500 502 503 504 = @llm_fallback;
            add_header X-LLM-Model $llm_model always;
            add_header X-LLM-Attempt $llm_attempt always;
            add_header X-LLM-Failed $llm_failed_models always;
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
    # the cases' own failures must not change later routing (health has
    # its own test): no model is degraded or taken down by error rates;
    # a 429 with Retry-After still takes it down, so err429 comes last
    llm_health fails=100 error_rate=100% degraded_rate=100%;
    llm_route_max_body 64k;
    client_max_body_size 1m;

    # each client among its own API's models (t/34-translate.t has the
    # same matrix served across APIs)
    llm_route_translate off;

$models
    # the first Gemini model would be the default: name another one
    llm_passthrough gemini ge-pro;

$upstreams
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        llm_route_max_attempts 3;
        recursive_error_pages on;

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

for my $m (@MODELS) {
    $t->waitforsocket("127.0.0.1:$MODEL{$m->[0]}{port}", 10)
        or die "mock $m->[0] did not start:\n"
               . (eval { $t->read_file('mocks.out') } // '');
}

$t->run;

###########################################################################
# run the matrix

my $base = 'http://127.0.0.1:' . $t->nginx_port;
my $slow = $ENV{TEST_NGINX_VALGRIND} ? 20 : 1;      # as the harness's timeouts
my @results = run_matrix();

sub run_matrix {
    my $out = "$dir/run.jsonl";
    my $err = "$dir/run.err";
    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        open(STDOUT, '>', $out) or POSIX::_exit(126);
        open(STDERR, '>', $err) or POSIX::_exit(126);
        exec { $NODE } $NODE, "$SDK/run.js", '--base', $base,
            '--timeout', 20000 * $slow
            or POSIX::_exit(127);
    }
    my $deadline = time + 600 * $slow;
    my $status;
    while (time < $deadline) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) { $status = $?; last }
        sleep 0.1;
    }
    unless (defined $status) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
        fail('run.js finished in time');
    }
    my $stderr = eval { $t->read_file('run.err') } // '';
    is($status, 0, 'run.js exited with 0') or diag("run.js stderr:\n$stderr");
    my @r;
    for my $line (split /\n/, eval { $t->read_file('run.jsonl') } // '') {
        my $o = json_decode($line);
        ok($o && ref $o eq 'HASH', 'run.js printed a JSON object')
            or diag("not JSON: " . substr($line, 0, 300));
        push @r, $o if $o && ref $o eq 'HASH';
    }
    return @r;
}

my %result = map { ("$_->{sdk}/$_->{case}" => $_) } @results;

# every mock's log, entries by case
my %received;
my @all_received;
for my $m (@MODELS) {
    my $text = eval { $t->read_file("$m->[0].log") } // '';
    for my $line (split /\n/, $text) {
        my $e = json_decode($line);
        ok($e, "$m->[0]: a log line is JSON") or next;
        push @all_received, $e;
        push @{$received{$e->{case} // ''}}, $e;
    }
}

###########################################################################
# helpers

my %SMALL = (openai => 'oa-mini', anthropic => 'an-haiku', gemini => 'ge-flash');
my %BIG = (openai => 'oa-big', anthropic => 'an-opus', gemini => 'ge-pro');
my %NEXT = (openai => 'oa-mini2', anthropic => 'an-opus', gemini => 'ge-pro');
my %MODELS_OF;
push @{$MODELS_OF{$_->[1]}}, $_->[0] for @MODELS;

sub result {
    my ($name) = @_;
    my $r = $result{$name};
    ok($r, "$name: run.js reported it") or return undef;
    return $r;
}

# the SDK's last HTTP exchange
sub last_http {
    my ($r) = @_;
    my $h = $r->{http} // [];
    return $h->[-1] // {};
}

# the provider's path for a generation of $api on model $m
sub gen_path {
    my ($api, $m, $what) = @_;
    return '/v1/messages' if $api eq 'anthropic';
    return "/v1beta/models/$MODEL{$m}{id}:"
        . ($what && $what eq 'stream' ? 'streamGenerateContent' : 'generateContent')
        if $api eq 'gemini';
    return $what && $what =~ /^responses/ ? '/v1/responses' : '/v1/chat/completions';
}

# the body the provider should have received: the SDK's own, its leading
# "model" value replaced by the model's id (Gemini names it in the path)
sub expected_body {
    my ($name, $sent, $api, $m) = @_;
    return $sent if $api eq 'gemini' || !defined $m;
    my $b = $sent;
    ok($b =~ s/^\{"model":"auto"/{"model":"$MODEL{$m}{id}"/,
       "$name: the SDK's body starts with its model");
    return $b;
}

# what one received request must show: path, body, credentials, headers
sub check_received {
    my ($name, $e, $sent, %o) = @_;
    my ($api, $m, $path) = @o{qw(api model path)};
    is($e->{name}, $m, "$name: received by $m");
    is($e->{method}, 'POST', "$name: POST");
    is($e->{path}, $path, "$name: path $path");
    my $q = $e->{query} // '';
    unlike($q, qr/(^|&)key=/, "$name: no key= in the query");
    is($q, $o{query} // '', "$name: query") if exists $o{query};

    my $want = $o{untouched} ? $sent->{body}
                             : expected_body($name, $sent->{body}, $api, $m);
    ok(defined $e->{body} && defined $want && $e->{body} eq $want,
       "$name: the provider got the SDK's body"
       . ($o{untouched} || $api eq 'gemini' ? ' unchanged' : ' but the model'))
        or diag("sent:     " . substr($want // 'undef', 0, 400)
                . "\nreceived: " . substr($e->{body} // 'undef', 0, 400));

    my $h = $e->{headers} // {};
    my $gw = $MODEL{$m}{key_file};
    if ($api eq 'openai') {
        is($h->{authorization},
           'Bearer ' . ($gw ? $GATEWAY_KEY{openai} : $CLIENT_KEY{openai}),
           "$name: Authorization is the " . ($gw ? "gateway's" : "client's") . ' key');
    } elsif ($api eq 'anthropic') {
        is($h->{'x-api-key'}, $GATEWAY_KEY{anthropic}, "$name: x-api-key is the gateway's key");
        ok(!exists $h->{authorization}, "$name: the client's Authorization is removed")
            or diag("authorization: $h->{authorization}");
        is($h->{'anthropic-version'}, $sent->{headers}{'anthropic-version'},
           "$name: the client's anthropic-version is kept");
    } else {
        is($h->{'x-goog-api-key'}, $GATEWAY_KEY{gemini}, "$name: x-goog-api-key is the gateway's key");
        ok(!exists $h->{authorization}, "$name: no Authorization");
    }
    if ($gw) {
        my @leak = grep { index($h->{$_} // '', $CLIENT_KEY{$api}) >= 0 } sort keys %$h;
        is("@leak", '', "$name: no header carries the client's key");
    }
    for my $k ('user-agent', 'x-test-case') {
        is($h->{$k}, $sent->{headers}{$k}, "$name: $k passed as sent");
    }
}

# the text, model and usage the SDK parsed, against what the mock saw
sub check_answer {
    my ($name, $r, $api, $m, $e) = @_;
    my $p = $r->{parsed} // {};
    is($p->{text}, "mock answer from $m", "$name: the SDK parsed the answer of $m");
    is($p->{model}, $MODEL{$m}{id}, "$name: the answer names $MODEL{$m}{id}")
        if exists $p->{model};
    my $in = ceil(length($e->{body} // '') / 4);
    my $u = $p->{usage} // {};
    if ($api eq 'openai') {
        my ($pi, $po) = exists $u->{prompt_tokens}
            ? @$u{qw(prompt_tokens completion_tokens)} : @$u{qw(input_tokens output_tokens)};
        is($pi, $in, "$name: usage input tokens");
        is($po, 7, "$name: usage output tokens");
    } elsif ($api eq 'anthropic') {
        is($u->{input_tokens}, $in, "$name: usage input tokens");
        is($u->{output_tokens}, 7, "$name: usage output tokens");
    } else {
        is($u->{promptTokenCount}, $in, "$name: usage prompt tokens");
        is($u->{candidatesTokenCount}, 7, "$name: usage candidates tokens");
    }
}

sub check_gateway_headers {
    my ($name, $r, $model) = @_;
    my $rh = last_http($r)->{response_headers} // {};
    like($rh->{'x-llm-request-id'} // '', qr/^[0-9a-f]{32}$/, "$name: X-LLM-Request-Id");
    is($rh->{'x-llm-model'}, $model, "$name: X-LLM-Model $model") if defined $model;
}

###########################################################################
# generations that succeed: routed among the client API's models only

my %GEN_CASES = (
    trivial   => \%SMALL,
    hard      => \%BIG,
    stream    => \%SMALL,
    multiturn => \%SMALL,
    tools     => \%BIG,
    image     => \%BIG,
);

for my $api (qw(openai anthropic gemini)) {
    my @cases = sort keys %GEN_CASES;
    push @cases, qw(responses responses_stream) if $api eq 'openai';
    push @cases, 'query_key' if $api eq 'gemini';
    for my $case (@cases) {
        my $name = "$api/$case";
        my $m = ($GEN_CASES{$case} // \%SMALL)->{$api};
        my $r = result($name) or next;
        ok($r->{ok}, "$name: the SDK call succeeded") or diag("error: $r->{error}");
        my @got = @{$received{$name} // []};
        is(scalar @got, 1, "$name: one request reached a provider")
            or diag(join "\n", map { "$_->{name} $_->{path} $_->{status}" } @got);
        my $e = $got[0] or next;
        my $sent = last_http($r);
        is($sent->{status}, 200, "$name: 200");
        check_received($name, $e, $sent, api => $api, model => $m,
            path => gen_path($api, $m, $case),
            ($api eq 'gemini' ? (query => $case eq 'stream' ? 'alt=sse' : '') : ()));
        check_gateway_headers($name, $r, $m);

        my $p = $r->{parsed} // {};
        if ($case eq 'tools') {
            my $c = ($p->{tool_calls} // [])->[0] // {};
            is($c->{name}, 'get_weather', "$name: the SDK parsed the tool call");
            is_deeply(json_decode($c->{arguments} // 'null'), { city => 'Paris' },
                      "$name: tool call arguments");
            is($sent->{response_headers}{'x-mock-name'}, $m, "$name: answered by $m");
            next;
        }
        check_answer($name, $r, $api, $m, $e);
        if ($case =~ /stream/) {
            like($sent->{response_headers}{'content-type'} // '', qr{^text/event-stream},
                 "$name: an event stream");
        }
    }
}

###########################################################################
# non-generation endpoints pass through untouched, with the gateway's key

{
    my %nongen = (
        openai    => [ 'oa-mini',  '/v1/embeddings' ],
        anthropic => [ 'an-haiku', '/v1/messages/count_tokens' ],
        gemini    => [ 'ge-pro',   '/v1beta/models/gemini-count-model:countTokens' ],
    );
    for my $api (sort keys %nongen) {
        my $name = "$api/nongen";
        my ($m, $path) = @{$nongen{$api}};
        my $r = result($name) or next;
        ok($r->{ok}, "$name: the SDK call succeeded") or diag("error: $r->{error}");
        my @got = @{$received{$name} // []};
        is(scalar @got, 1, "$name: one request reached a provider");
        my $e = $got[0] or next;
        check_received($name, $e, last_http($r), api => $api, model => $m,
                       path => $path, untouched => 1);
        my $p = $r->{parsed} // {};
        my $in = ceil(length($e->{body} // '') / 4);
        if ($api eq 'openai') {
            is($p->{model}, 'text-embedding-3-small', "$name: the model is the client's");
            is($p->{count}, 1, "$name: one embedding");
            is($p->{dimensions}, 8, "$name: its dimensions");
        } elsif ($api eq 'anthropic') {
            is($p->{input_tokens}, $in, "$name: input_tokens");
        } else {
            is($p->{total_tokens}, $in, "$name: totalTokens");
        }
    }
}

###########################################################################
# failover: the first model answers 503, the next one of the same API
# answers, the body rewritten again for it

for my $api (qw(openai anthropic gemini)) {
    my $name = "$api/failover";
    my ($first, $next) = ($SMALL{$api}, $NEXT{$api});
    my $r = result($name) or next;
    ok($r->{ok}, "$name: the SDK call succeeded") or diag("error: $r->{error}");
    my @got = @{$received{$name} // []};
    is(join(' ', map { "$_->{name}:$_->{status}" } @got), "$first:503 $next:200",
       "$name: $first failed, $next answered");
    next unless @got == 2;
    my $sent = last_http($r);
    is(scalar @{$r->{http}}, 1, "$name: the SDK made one request");
    check_received("$name (1st)", $got[0], $sent, api => $api, model => $first,
                   path => gen_path($api, $first));
    check_received("$name (2nd)", $got[1], $sent, api => $api, model => $next,
                   path => gen_path($api, $next));
    check_gateway_headers($name, $r, $next);
    is($sent->{response_headers}{'x-llm-failed'}, $first, "$name: X-LLM-Failed");
    is($sent->{response_headers}{'x-llm-attempt'}, 2, "$name: X-LLM-Attempt");
    check_answer($name, $r, $api, $next, $got[1]);
}

###########################################################################
# errors

# the error body the client got, in its API's shape: (type or status, code)
sub error_shape {
    my ($name, $api, $r, $status) = @_;
    my $body = json_decode(last_http($r)->{response_body} // '');
    ok(ref $body eq 'HASH', "$name: a JSON error body") or return;
    if ($api eq 'openai') {
        my $e = $body->{error};
        ok(ref $e eq 'HASH' && defined $e->{message} && exists $e->{type}
           && exists $e->{param} && exists $e->{code},
           "$name: OpenAI's error shape {error:{message,type,param,code}}")
            or diag(explain $body);
        return ($e // {})->{type}, ($e // {})->{code};
    }
    if ($api eq 'anthropic') {
        my $e = $body->{error};
        ok(($body->{type} // '') eq 'error' && ref $e eq 'HASH'
           && defined $e->{type} && defined $e->{message},
           "$name: Anthropic's error shape {type:error,error:{type,message}}")
            or diag(explain $body);
        return ($e // {})->{type}, ($e // {})->{code};
    }
    my $e = $body->{error};
    ok(ref $e eq 'HASH' && ($e->{code} // 0) == $status && defined $e->{message}
       && defined $e->{status},
       "$name: Gemini's error shape {error:{code,message,status}}")
        or diag(explain $body);
    my $reason = ref $e eq 'HASH' && ref $e->{details} eq 'ARRAY' && $e->{details}[0]
        ? $e->{details}[0]{reason} : undef;
    return ($e // {})->{status}, $reason;
}

my %ERROR_CLASS = (
    400 => [ 'BadRequestError', 'BadRequestError' ],
    413 => [ 'APIError', 'ContentTooLargeError' ],
    422 => [ 'UnprocessableEntityError', 'UnprocessableEntityError' ],
    429 => [ 'RateLimitError', 'RateLimitError' ],
    500 => [ 'InternalServerError', 'InternalServerError' ],
);
my %RATE_TYPE = (openai => 'rate_limit_error', anthropic => 'rate_limit_error',
                 gemini => 'RESOURCE_EXHAUSTED');
my %SERVER_TYPE = (openai => 'server_error', anthropic => 'api_error',
                   gemini => 'INTERNAL');

sub check_sdk_error {
    my ($name, $api, $r, $status) = @_;
    ok(!$r->{ok}, "$name: the SDK call failed");
    my $err = ($r->{parsed} // {})->{error} // {};
    is($err->{status}, $status, "$name: the SDK saw status $status")
        or diag("error: " . ($r->{error} // 'none'));
    my $class = $api eq 'gemini' ? 'ApiError'
        : $ERROR_CLASS{$status}[$api eq 'openai' ? 0 : 1];
    is($err->{class}, $class, "$name: the SDK threw $class") if $class;
    is(last_http($r)->{status}, $status, "$name: HTTP $status");
    return $err;
}

# a provider's 400 is the client's own: answered as it is, no fallback

for my $api (qw(openai anthropic gemini)) {
    my $name = "$api/err400";
    my $r = result($name) or next;
    my $err = check_sdk_error($name, $api, $r, 400);
    my @got = @{$received{$name} // []};
    is(join(' ', map { "$_->{name}:$_->{status}" } @got), "$SMALL{$api}:400",
       "$name: one attempt, no fallback");
    is($err->{message}, "mock error 400 from $SMALL{$api}", "$name: the provider's message");
    check_gateway_headers($name, $r, $SMALL{$api});
}

# what the gateway answers itself never reaches a provider

for my $case ([ 'gateway_error', 413, 'llm_body_too_large' ],
              [ 'no_model', 422, 'llm_no_model' ]) {
    my ($c, $status, $code) = @$case;
    for my $api (qw(openai anthropic gemini)) {
        my $name = "$api/$c";
        my $r = result($name) or next;
        check_sdk_error($name, $api, $r, $status);
        is(scalar @{$received{$name} // []}, 0, "$name: no provider was asked");
        my ($type, $got_code) = error_shape($name, $api, $r, $status);
        if ($api eq 'openai') {
            is($got_code, $code, "$name: code $code");
            is($type, 'invalid_request_error', "$name: type invalid_request_error");
        } elsif ($api eq 'anthropic') {
            is($type, $status == 413 ? 'request_too_large' : 'invalid_request_error',
               "$name: error type");
        } else {
            is($got_code, $code, "$name: ErrorInfo reason $code");
        }
        check_gateway_headers($name, $r);
    }
}

# every attempt fails: the client gets the last provider status (and its
# Retry-After), in its API's shape; each attempt went to another model of
# the client's API, the body rewritten for each

for my $case ([ 'err500', 500 ], [ 'err429', 429 ]) {
    my ($c, $status) = @$case;
    for my $api (qw(openai anthropic gemini)) {
        my $name = "$api/$c";
        my $r = result($name) or next;
        my $err = check_sdk_error($name, $api, $r, $status);
        my @got = @{$received{$name} // []};
        my $n = @{$MODELS_OF{$api}} < 3 ? @{$MODELS_OF{$api}} : 3;
        is(scalar @got, $n, "$name: $n attempts (every model of the API, at most"
           . ' llm_route_max_attempts)');
        my %seen;
        for my $e (@got) {
            is($e->{status}, $status, "$name: $e->{name} answered $status");
            ok(!$seen{$e->{name}}++, "$name: $e->{name} tried once");
            my $m = $e->{name};
            next unless $MODEL{$m} && $MODEL{$m}{api} eq $api;
            check_received("$name ($m)", $e, last_http($r), api => $api, model => $m,
                           path => gen_path($api, $m));
        }
        my ($type) = error_shape($name, $api, $r, $status);
        is($type, $status == 429 ? $RATE_TYPE{$api} : $SERVER_TYPE{$api},
           "$name: error type for $status");
        check_gateway_headers($name, $r);
        if ($status == 429) {
            is(last_http($r)->{response_headers}{'retry-after'}, '7',
               "$name: the provider's Retry-After reaches the client");
            is($err->{retry_after}, '7', "$name: the SDK saw Retry-After")
                unless $api eq 'gemini';
        }
    }
}

###########################################################################
# across the whole run

{
    my @expected;
    for my $api (qw(openai anthropic gemini)) {
        push @expected, map { "$api/$_" } qw(trivial hard stream multiturn tools image
            nongen failover err400 gateway_error no_model err500 err429);
        push @expected, map { "$api/$_" } qw(responses responses_stream) if $api eq 'openai';
        push @expected, "$api/query_key" if $api eq 'gemini';
    }
    is(join(' ', sort grep { !$result{$_} } @expected), '', 'run.js ran every case');
    is(join(' ', map { "$_->{sdk}/$_->{case}" }
                 grep { ($_->{client_key} // '') ne $CLIENT_KEY{$_->{sdk}} } @results),
       '', "run.js's clients hold the keys this test looks for");

    my @stray = grep { !defined $_->{case} || !$result{$_->{case}} } @all_received;
    is(scalar @stray, 0, 'every request a provider got belongs to a case')
        or diag(join "\n", map { "$_->{name} $_->{method} $_->{path}" } @stray);

    my @cross = grep { my ($sdk) = ($_->{case} // '') =~ m{^(\w+)/};
                       $sdk && $MODEL{$_->{name}}{api} ne $sdk } @all_received;
    is(join(' ', map { "$_->{case}->$_->{name}" } @cross), '',
       'no request reached a model of another API');

    my @denied = grep { ($_->{status} // 0) == 401 } @all_received;
    is(join(' ', map { "$_->{case}->$_->{name}" } @denied), '',
       'no provider refused a credential');
}

$t->done_testing;
