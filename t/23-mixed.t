#!/usr/bin/perl

# A fleet that mixes providers behind one location: each request goes to a
# model of its own API, with the request line ($llm_upstream_uri) and the
# credentials ($llm_header_*, key_file=) that API needs; other endpoints
# pass through; errors come in the client's API shape; failover stays
# within the API; what the client got wrong never takes a model down.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep);

use LLMRouter::Test;
use LLMRouter::MockLLM;

my $t = LLMRouter::Test->new->workers(2);

start_mock($t, name => 'oa', port => $t->port(8081));
start_mock($t, name => 'oa2', port => $t->port(8082));
start_mock($t, name => 'an', port => $t->port(8083));
start_mock($t, name => 'ge', port => $t->port(8084));
start_mock($t, name => 'an2', port => $t->port(8085));

my $dir = $t->testdir;
mkdir "$dir/keys";
$t->write_file('keys/openai', "sk-openai-gw\n");
$t->write_file('keys/anthropic', "  sk-ant-gw \n");
$t->write_file('keys/gemini', "AIza-gw");

my $headers = <<'EOF';
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization $llm_header_authorization;
            proxy_set_header x-api-key $llm_header_x_api_key;
            proxy_set_header x-goog-api-key $llm_header_x_goog_api_key;
            proxy_set_header anthropic-version $llm_header_anthropic_version;
            proxy_intercept_errors on;
            recursive_error_pages on;
            error_page 429 500 502 503 504 = @llm_fallback;
            error_page 413 @llm_error;
            add_header X-LLM-Model $llm_model always;
            add_header X-LLM-Api $llm_api always;
            add_header X-LLM-Endpoint $llm_endpoint always;
            add_header X-LLM-Reason $llm_reason always;
            add_header X-LLM-Failed $llm_failed_models always;
EOF

# Gemini is the cheapest at every tier: nothing but Gemini requests may
# reach it

my $conf = <<"EOF";
%%TEST_GLOBALS%%
%%LOAD_MODULE%%

events { worker_connections 1024; }

http {
    %%TEST_GLOBALS_HTTP%%

    llm_router_zone llm 1m;

    # each client among its own API's models (t/34-translate.t: across)
    llm_route_translate off;
    llm_health fails=100;

    llm_model gem-cheap provider=google upstream=ge tiers=trivial-expert input=0.05 output=0.1 id=gemini-2.0-flash key_file=keys/gemini;
    llm_model gpt-mini provider=openai upstream=oa tiers=trivial-moderate input=0.15 output=0.6 id=gpt-4o-mini key_file=keys/openai;
    llm_model gpt-big provider=openai upstream=oa2 tiers=trivial-expert input=2.5 output=10 id=gpt-4o;
    llm_model claude provider=anthropic upstream=an tiers=trivial-simple input=0.8 output=4 id=claude-haiku key_file=keys/anthropic;
    llm_model claude-opus provider=anthropic upstream=an2 tiers=moderate-expert input=15 output=75 id=claude-opus key_file=keys/anthropic;

    upstream oa  { server 127.0.0.1:%%PORT_8081%%; }
    upstream oa2 { server 127.0.0.1:%%PORT_8082%%; }
    upstream an  { server 127.0.0.1:%%PORT_8083%%; }
    upstream ge  { server 127.0.0.1:%%PORT_8084%%; }
    upstream an2 { server 127.0.0.1:%%PORT_8085%%; }

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        client_max_body_size 64k;

        location / {
            llm_route on;
            llm_route_max_body 32k;
            proxy_pass http://\$llm_upstream\$llm_upstream_uri;
$headers
        }

        location \@llm_fallback {
            llm_route fallback;
            proxy_pass http://\$llm_upstream\$llm_upstream_uri;
$headers
        }

        location \@llm_error {
            llm_error_page;
        }

        location = /llm/status { llm_status; }
    }
}
EOF

$t->run($conf);

my $chat = { model => 'auto',
             messages => [ { role => 'user', content => 'hello there' } ] };
my $msgs = { model => 'claude-x', max_tokens => 64,
             messages => [ { role => 'user', content => 'hello there' } ] };
my $gem = { contents => [ { role => 'user',
                            parts => [ { text => 'hello there' } ] } ] };

sub last_req { (mock_requests($t, $_[0]))[-1] }

# OpenAI: the OpenAI model, the gateway's key instead of the client's

my $r = $t->http_post('/v1/chat/completions', $chat,
                      'Authorization' => 'Bearer client-token',
                      'x-api-key' => 'client-anthropic-key');
is($r->{status}, 200, 'openai: 200');
is($r->{headers}{'x-mock-name'}, 'oa', 'openai: an OpenAI upstream');
is($r->{headers}{'x-llm-api'}, 'openai', 'openai: $llm_api');
like($r->{headers}{'x-llm-reason'}, qr/skipped_api/,
     'openai: the cheaper Gemini model was skipped for its API');
my $q = last_req('oa');
is($q->{path}, '/v1/chat/completions', 'openai: the path');
is($q->{model}, 'gpt-4o-mini', 'openai: the model rewritten');
is($q->{headers}{authorization}, 'Bearer sk-openai-gw',
   "openai: the gateway's key");
ok(!exists $q->{headers}{'x-api-key'}, 'openai: no stray x-api-key');
ok(!exists $q->{headers}{'anthropic-version'},
   'openai: no anthropic-version');

# Anthropic: x-api-key and a default anthropic-version

$r = $t->http_post('/v1/messages', $msgs, 'x-api-key' => 'client-key',
                   'Authorization' => 'Bearer client-token');
is($r->{status}, 200, 'anthropic: 200');
is($r->{headers}{'x-mock-name'}, 'an', 'anthropic: the Anthropic upstream');
$q = last_req('an');
is($q->{path}, '/v1/messages', 'anthropic: the path');
is($q->{model}, 'claude-haiku', 'anthropic: the model rewritten');
is($q->{headers}{'x-api-key'}, 'sk-ant-gw',
   "anthropic: the gateway's key, trimmed");
is($q->{headers}{'anthropic-version'}, '2023-06-01',
   'anthropic: a default anthropic-version');
ok(!exists $q->{headers}{authorization},
   "anthropic: the client's Authorization removed");

$r = $t->http_post('/v1/messages', $msgs,
                   'anthropic-version' => '2024-01-01');
is(last_req('an')->{headers}{'anthropic-version'}, '2024-01-01',
   "anthropic: the client's anthropic-version kept");

# Gemini: the model in the path, the method, the query less its key

$r = $t->http_post('/v1beta/models/gemini-1.5-pro:streamGenerateContent'
                   . '?alt=sse&key=client-key', $gem);
is($r->{status}, 200, 'gemini stream: 200');
$q = last_req('ge');
is($q->{uri}, '/v1beta/models/gemini-2.0-flash:streamGenerateContent'
              . '?alt=sse', 'gemini stream: model, method, query, no key=');
is($q->{headers}{'x-goog-api-key'}, 'AIza-gw', "gemini: the gateway's key");
like($r->{content}, qr/^data: /m, 'gemini stream: server-sent events');

# what is not a generation passes through, with the keys of its API

$r = $t->http_post('/v1/embeddings', { model => 'text-embedding-3-small',
                                       input => 'hi' },
                   'Authorization' => 'Bearer client-token');
is($r->{status}, 200, 'embeddings: 200');
$q = last_req('oa');
is($q->{path}, '/v1/embeddings', 'embeddings: to the OpenAI passthrough');
is($q->{model}, 'text-embedding-3-small', 'embeddings: untouched');
is($q->{headers}{authorization}, 'Bearer sk-openai-gw',
   "embeddings: the gateway's key");
is($r->{headers}{'x-llm-endpoint'}, 'embeddings', '$llm_endpoint');
ok(!$r->{headers}{'x-llm-model'}, 'embeddings: no model routed');

$r = $t->http_post('/v1beta/models/gemini-1.5-pro:countTokens?key=k', $gem);
$q = last_req('ge');
is($q->{uri}, '/v1beta/models/gemini-1.5-pro:countTokens',
   "countTokens: the client's model, its key dropped");

# the client's mistakes never take a model down

for my $status (400, 404, 413, 422) {
    $t->http_post('/v1/messages', $msgs, 'X-Mock-Status' => $status)
        for 1 .. 3;
}

my $st;
my $n4xx = sub {
    my $m = $_[0]{instance}{models};
    return ($m->{claude}{errors_4xx} // 0) + ($m->{'claude-opus'}{errors_4xx}
                                              // 0);
};
for (1 .. 20) {
    $st = $t->http_get('/llm/status')->{json};
    last if $n4xx->($st) >= 12;
    sleep 0.1;
}
is($n4xx->($st), 12, 'the 4xx are counted');
for my $m (qw(claude claude-opus)) {
    is($st->{health}{$m}{fails} // 0, 0, "$m: 400, 404, 413 and 422 answers "
       . 'count as no failure') or diag explain $st->{health}{$m};
}
is($st->{health}{claude}{state}, 'healthy', 'claude is healthy')
    or diag explain $st->{health}{claude};
is($st->{instance}{models}{claude}{errors_4xx}, 12, 'claude had them all');

# a degraded model stays in the failover chain: the first pick passes
# over it for a healthier one a tier up; when that one fails, the chain
# goes back down to it

my $h;
for (1 .. 20) {
    $h = $t->http_get('/llm/status')->{json}{health}{claude};
    last if $h->{state} eq 'degraded';
    mock_fail($t, 'an', 500);
    $t->http_post('/v1/messages', $msgs);
    mock_ok($t, 'an');
    $t->http_post('/v1/messages', $msgs);
}
is($h->{state}, 'degraded', 'claude is degraded') or diag explain $h;

$r = $t->http_post('/v1/messages', $msgs);
is($r->{headers}{'x-llm-model'}, 'claude-opus',
   'a healthy model a tier up is preferred to a degraded one');

mock_fail($t, 'an2', 500);
$r = $t->http_post('/v1/messages', $msgs);
mock_ok($t, 'an2');
is($r->{status}, 200, 'it fails: the chain goes on');
is($r->{headers}{'x-llm-model'}, 'claude',
   'to the degraded model the first pick passed over');
is($r->{headers}{'x-llm-failed'}, 'claude-opus', 'after the one that failed');

# failover stays within the API; the next model's own credentials

mock_fail($t, 'oa', 500);
$r = $t->http_post('/v1/chat/completions', $chat,
                   'Authorization' => 'Bearer client-token');
mock_ok($t, 'oa');
is($r->{status}, 200, 'failover: 200');
is($r->{headers}{'x-mock-name'}, 'oa2', 'failover: the other OpenAI model');
is($r->{headers}{'x-llm-failed'}, 'gpt-mini', 'failover: what failed');
$q = last_req('oa2');
is($q->{path}, '/v1/chat/completions', 'failover: the path recomputed');
is($q->{model}, 'gpt-4o', 'failover: the body rewritten for it');
is($q->{headers}{authorization}, 'Bearer client-token',
   "failover: a model without key_file gets the client's credential");
is(scalar(grep { $_->{path} =~ /chat/ } mock_requests($t, 'ge')), 0,
   'no OpenAI request ever reached the Gemini upstream');

# every attempt fails: the last status and Retry-After, in the client's
# shape, with the request id

$r = $t->http_post('/v1/chat/completions', $chat,
                   'X-Mock-Status' => 429, 'X-Mock-Retry-After' => 7);
is($r->{status}, 429, 'openai gives up: the provider status');
is($r->{headers}{'retry-after'}, 7, 'openai gives up: Retry-After kept');
is($r->{json}{error}{type}, 'rate_limit_error', 'openai: a rate-limit type');
is($r->{json}{error}{code}, 'llm_all_attempts_failed', 'openai: the code');
like($r->{headers}{'x-llm-request-id'}, qr/^[0-9a-f]{32}$/,
     'openai gives up: X-LLM-Request-Id');

$r = $t->http_post('/v1/messages', $msgs, 'X-Mock-Status' => 429);
is($r->{status}, 429, 'anthropic gives up: 429');
is($r->{json}{type}, 'error', "anthropic: Anthropic's shape");
is($r->{json}{error}{type}, 'rate_limit_error', 'anthropic: its type');
ok(!exists $r->{json}{error}{param}, 'anthropic: no OpenAI fields');

$r = $t->http_post('/v1beta/models/x:generateContent', $gem,
                   'X-Mock-Status' => 503);
is($r->{status}, 503, 'gemini gives up: 503');
is($r->{json}{error}{code}, 503, "gemini: a numeric code");
is($r->{json}{error}{status}, 'UNAVAILABLE', 'gemini: its status');

# errors the gateway makes itself

$r = $t->http_post('/v1/messages', 'hello', 'Content-Type' => 'text/plain');
is($r->{status}, 415, 'anthropic, not JSON: 415');
is($r->{json}{type}, 'error', "anthropic, not JSON: Anthropic's shape");
is($r->{json}{error}{type}, 'invalid_request_error', 'and type');
like($r->{headers}{'x-llm-request-id'}, qr/^[0-9a-f]{32}$/,
     'a gateway error has a request id');

$r = $t->http_post('/v1beta/models/x:generateContent', '{"contents": [');
is($r->{status}, 400, 'gemini, bad JSON: 400');
is($r->{json}{error}{code}, 400, "gemini, bad JSON: Gemini's shape");
is($r->{json}{error}{status}, 'INVALID_ARGUMENT', 'and status');

my $big = { %$chat, messages => [ { role => 'user',
                                    content => 'x' x 40000 } ] };
$r = $t->http_post('/v1/chat/completions', $big);
is($r->{status}, 413, 'over llm_route_max_body: 413');
is($r->{json}{error}{code}, 'llm_body_too_large', 'over llm_route_max_body: '
   . 'JSON');

$big = { %$msgs, messages => [ { role => 'user', content => 'x' x 70000 } ] };
$r = $t->http_post('/v1/messages', $big);
is($r->{status}, 413, 'over client_max_body_size: 413');
is($r->{json}{type}, 'error',
   "over client_max_body_size: llm_error_page answers in Anthropic's shape");
is($r->{json}{error}{code}, 'llm_body_too_large', 'with the code');
like($r->{headers}{'x-llm-request-id'}, qr/^[0-9a-f]{32}$/,
     'and a request id');

is($st->{instance}{passthrough}{openai}{embeddings}, 1,
   'llm_status: the embeddings call');
is($st->{instance}{passthrough}{gemini}{count_tokens}, 1,
   'llm_status: the count');

# keys never show in the status, the logs or the error log (nginx's own
# debug log prints the headers it sends upstream, as for any
# proxy_set_header)

my $all = join '', grep { !/^\S+ \S+ \[debug\]/ }
    split(/^(?=\d{4}\/\d\d\/\d\d )/m, $t->read_file('error.log') // '');
$all .= $t->read_file('access.log') // '';
$all .= $t->http_get('/llm/status')->{content};
unlike($all, qr/sk-openai-gw|sk-ant-gw|AIza-gw/,
       'no key in llm_status or the logs');

# nginx -t refuses what cannot work

sub conf_with {
    my ($models) = @_;
    (my $c = $conf) =~ s/    llm_model gem-cheap.*?\n(    upstream oa )/$models\n$1/s;
    return $c;
}

my (undef, $bad) = $t->test_config(conf_with('    llm_model m provider=openai '
    . 'upstream=oa tiers=simple input=1 output=1 key_file=keys/missing;'));
like($bad, qr/llm_model "m": key_file ".*keys\/missing" cannot be opened/,
     'nginx -t: an unreadable key_file');

$t->write_file('keys/empty', "\n  \n");
(undef, $bad) = $t->test_config(conf_with('    llm_model m provider=openai '
    . 'upstream=oa tiers=simple input=1 output=1 key_file=keys/empty;'));
like($bad, qr/must hold the secret alone \(it is empty\)/, 'nginx -t: an empty key');

$t->write_file('keys/two', "sk-one sk-two\n");
(undef, $bad) = $t->test_config(conf_with('    llm_model m provider=openai '
    . 'upstream=oa tiers=simple input=1 output=1 key_file=keys/two;'));
like($bad, qr/must hold the secret alone \(it holds spaces/, 'nginx -t: two words');
unlike($bad, qr/sk-one/, 'nginx -t: the key is not printed');

(undef, $bad) = $t->test_config(conf_with('    llm_model m provider=acme '
    . 'upstream=oa tiers=simple input=1 output=1;'));
like($bad, qr/the API of provider "acme" is not known, set api=/,
     'nginx -t: a provider of unknown API');

(undef, $bad) = $t->test_config(conf_with('    llm_model m provider=openai '
    . "upstream=oa tiers=simple input=1 output=1;\n"
    . '    llm_passthrough anthropic m;'));
like($bad, qr/"llm_passthrough anthropic": model "m" speaks the openai API/,
     'nginx -t: a passthrough model of another API');

(undef, $bad) = $t->test_config(conf_with('    llm_model m provider=openai '
    . "upstream=oa tiers=simple input=1 output=1;\n"
    . '    llm_passthrough cohere m;'));
like($bad, qr/invalid API "cohere" in "llm_passthrough"/,
     'nginx -t: an unknown API');

$t->stop;

done_testing();
