#!/usr/bin/perl

# Bad input gets a documented answer (a JSON 4xx, or the default route
# under llm_route_on_error default), is logged once at the right level,
# and the worker neither crashes nor hangs nor leaks.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;

my $t = LLMRouter::Test->new;

start_providers($t);

$t->run(router_conf(location => <<'LOC', server => <<'SRV'));
            client_max_body_size 20m;
            llm_route_max_body 16m;
LOC
        location /lenient/ {
            llm_route on;
            llm_route_on_error default;
            llm_route_default_tier simple;
            client_max_body_size 20m;
            llm_route_max_body 1m;
            proxy_pass http://$llm_upstream/v1/chat/completions;
            add_header X-LLM-Reason $llm_reason always;
            add_header X-LLM-Tier $llm_tier always;
        }

        location /small/ {
            llm_route on;
            client_max_body_size 20m;
            proxy_pass http://$llm_upstream/v1/chat/completions;
        }
SRV

# the workers right after start (they may take a moment to appear)
my @workers;
for (1 .. 100) {
    @workers = $t->worker_pids;
    last if @workers;
    select(undef, undef, undef, 0.05);
}

sub post {
    my ($uri, $body, %h) = @_;
    return $t->http_post($uri, $body, %h);
}

sub rejected {
    my ($name, $body, $status, $code, $msg, %h) = @_;
    my $uri = delete $h{uri} // '/v1/chat/completions';
    my $n = scalar(mock_requests($t, 'cheap')) + scalar(mock_requests($t, 'mid'));
    my $r = post($uri, $body, %h);
    is($r->{status}, $status, "$name: $status");
    is($r->{json} && $r->{json}{error}{code}, $code, "$name: $code");
    like($r->{json} && $r->{json}{error}{message} // '', $msg,
         "$name: message");
    like($r->{headers}{'content-type'} // '', qr{^application/json},
         "$name: JSON");
    is(scalar(mock_requests($t, 'cheap')) + scalar(mock_requests($t, 'mid')),
       $n, "$name: nothing proxied");
    return $r;
}

rejected('malformed JSON', '{"model": "auto", "messages": [}', 400,
         'llm_invalid_json', qr/invalid JSON/i);
$t->error_log_like(qr/\[info\].*llm_router: unroutable request body/,
                   'a client error is logged at info');
$t->no_error_log(qr/\[(error|warn|crit|alert)\]/,
                 'and not above info');

# a body that ends too soon fails at its end (43 bytes)
rejected('truncated JSON', '{"model": "auto", "messages": [{"role": "us',
         400, 'llm_invalid_json',
         qr/^invalid JSON at byte 43: premature EOF$/);

rejected('invalid UTF-8', qq({"messages": [{"role": "user", "content": ")
         . "caf\xc3\x28 \xff\xfe" . qq("}]}), 400, 'llm_invalid_json',
         qr/UTF-?8/i);

rejected('10,000 levels of nesting',
         '{"messages": [{"role": "user", "content": "hi"}], "metadata": '
         . ('[' x 10_000) . (']' x 10_000) . '}', 400,
         'llm_invalid_json', qr/nesting deeper than 64/);

rejected('10,000 levels of nesting where a message goes',
         '{"messages": ' . ('[' x 10_000) . (']' x 10_000) . '}', 400,
         'llm_invalid_request', qr/message must be an object/);

rejected('10 MB of whitespace', ' ' x (10 * 1024 * 1024), 400,
         'llm_invalid_json',
         qr/^invalid JSON at byte 10485760: premature EOF$/);

rejected('wrong type: messages', '{"model": "auto", "messages": 5}', 400,
         'llm_invalid_request', qr/messages/);

rejected('wrong type: content',
         '{"messages": [{"role": "user", "content": 7}]}', 400,
         'llm_invalid_request', qr/content/);

rejected('wrong type: max_tokens', '{"messages": [{"role": "user", '
         . '"content": "hi"}], "max_tokens": "lots"}', 400,
         'llm_invalid_request', qr/max_tokens/);

rejected('wrong type: model', '{"model": 5, "messages": [{"role": "user", '
         . '"content": "hi"}]}', 400, 'llm_invalid_request', qr/model/);

rejected('empty messages', '{"model": "auto", "messages": []}', 400,
         'llm_invalid_request', qr/prompt/);

rejected('empty object', '{}', 400, 'llm_invalid_request', qr/prompt/);

rejected('top-level array', '[1, 2]', 400, 'llm_invalid_request',
         qr/^the body must be a JSON object$/);

rejected('empty body', '', 400, 'llm_invalid_json', qr/^empty body$/);

rejected('form content type', 'a=b', 415, 'llm_unsupported_media_type',
         qr/JSON/, 'Content-Type' => 'application/x-www-form-urlencoded');

rejected('text/plain', '{"messages": []}', 415,
         'llm_unsupported_media_type', qr/JSON/,
         'Content-Type' => 'text/plain');

rejected('over the default llm_route_max_body (4m)',
         '{"messages": [{"role": "user", "content": "' . ('a' x (5 << 20))
         . '"}]}', 413, 'llm_body_too_large', qr/llm_route_max_body/,
         uri => '/small/x');

# a huge but valid prompt is routed, and nobody has the window for it

my $r = post('/v1/chat/completions', '{"messages": [{"role": "user", '
             . '"content": "' . ('word ' x (1 << 20)) . '"}]}');
is($r->{status}, 422, '5 MB prompt: 422, no context window that large');
like($r->{json}{error}{message}, qr/context window/, '5 MB prompt: why');
$t->error_log_like(qr/\[error\].*llm_router: no model for the request/,
                   'no model is logged at error');

# an unknown model name is routed like "auto" (documented)

$r = post('/v1/chat/completions', chat_body('hello', model => 'no-such'));
is($r->{status}, 200, 'unknown model: routed');
is($r->{headers}{'x-mock-model'}, 'gpt-4o-mini', 'unknown model: rewritten');

# application/*+json and charset parameters are JSON

$r = post('/v1/chat/completions', chat_body('hi'),
          'Content-Type' => 'application/json; charset=utf-8');
is($r->{status}, 200, 'charset parameter accepted');
$r = post('/v1/chat/completions', chat_body('hi'),
          'Content-Type' => 'application/vnd.api+json');
is($r->{status}, 200, '+json accepted');

# llm_route_on_error default: unroutable bodies go to the default tier,
# unmodified

my $bad = '{"model": "auto", "messages": [}';
$r = post('/lenient/x', $bad);
is($r->{status}, 200, 'default route: forwarded');
is($r->{headers}{'x-mock-name'}, 'cheap', 'default route: simple tier');
is($r->{headers}{'x-llm-tier'}, 'simple', 'default route: tier');
like($r->{headers}{'x-llm-reason'}, qr/default_route,llm_invalid_json/,
     'default route: reason');
is($r->{json}{mock}{body_length}, length($bad), 'default route: unmodified');

$r = post('/lenient/x', 'a=b', 'Content-Type' => 'text/plain');
is($r->{headers}{'x-llm-reason'}, 'default_route,llm_unsupported_media_type',
   'default route: wrong content type');

$r = post('/lenient/x', '{"messages": [{"role": "user", "content": "'
          . ('a' x (2 << 20)) . '"}]}');
is($r->{status}, 200, 'default route: over max body is forwarded');
is($r->{headers}{'x-llm-reason'}, 'default_route,llm_body_too_large',
   'default route: too large');

# clients that go away mid-body or right after sending

$t->http_raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
             . "Content-Type: application/json\r\nContent-Length: 5000\r\n"
             . "\r\n", body => [ '{"messages": [' ], aborted => 1);
$t->http_raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
             . "Content-Type: application/json\r\nTransfer-Encoding: "
             . "chunked\r\n\r\n", body => [ "10\r\n{\"messages\": [{" ],
             aborted => 1);
$t->http_raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
             . "Content-Type: application/json\r\nContent-Length: 46\r\n"
             . "\r\n{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
             aborted => 1);

# every error above, twice more, with keep-alive-style reuse; then check
# the workers are the same processes (nothing crashed)

for (1 .. 2) {
    post('/v1/chat/completions', '{"messages": ' . ('[' x 5000));
    post('/v1/chat/completions', "\x00\x01\x02");
    post('/v1/chat/completions', '{"messages": [{"role": "user", '
         . '"content": ["x"]}]}');
}

$r = post('/v1/chat/completions', chat_body('still alive?'));
is($r->{status}, 200, 'still serving');
is_deeply([ sort $t->worker_pids ], [ sort @workers ],
          'no worker crashed or restarted');

$t->done_testing;
