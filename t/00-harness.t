#!/usr/bin/perl

# Self-test of the harness (t/lib/LLMRouter/*.pm) with plain nginx and no
# llm_router module: nginx proxies to the mock provider, chunked bodies,
# Redis and the RESP client, nginx -t, reload, raw requests, the
# error-log helpers and the final error.log checks.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha1_hex);
use Test::More;
use Time::HiRes qw(time);

use LLMRouter::Test;
use LLMRouter::MockLLM;

my $t = LLMRouter::Test->new;

my $conf = <<'EOF';
%%TEST_GLOBALS%%

events {
    worker_connections 1024;
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location / {
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location /unbuffered/ {
            proxy_pass http://127.0.0.1:%%PORT_8081%%/;
            proxy_http_version 1.1;
            proxy_request_buffering off;
        }

        location = /version {
            return 200 "v1";
        }
    }
}
EOF

###########################################################################
# ports and config expansion

is($t->port(8080), $t->port(8080), 'port stable per number');
isnt($t->port(8080), $t->port(8081), 'ports differ per number');
my $expanded = $t->expand("%%TEST_GLOBALS%%\n%%TEST_GLOBALS_HTTP%%");
my $dir = $t->testdir;
like($expanded, qr/^pid \Q$dir\E\/nginx\.pid;$/m, 'globals: pid');
like($expanded, qr/^client_body_temp_path \Q$dir\E\//m, 'http: temp path');
like($expanded, $> == 0 ? qr/^user root;$/m : qr/^(?!user)/,
     'globals: user root when root');
like($t->expand('%%LOAD_MODULE%%'),
     $t->has_module ? qr/^load_module \// : qr/^# .*not built/,
     '%%LOAD_MODULE%% expansion');

###########################################################################
# nginx -t

my ($rc, $out) = $t->test_config(
    $conf =~ s/(location = \/version)/llm_bogus on;\n$1/r);
isnt($rc, 0, 'nginx -t rejects an unknown directive');
like($out, qr/unknown directive "llm_bogus"/, 'nginx -t message');

$t->write_file_expand('nginx.conf', $conf);
($rc, $out) = $t->test_config;
is($rc, 0, 'nginx -t accepts the test config') or diag($out);

###########################################################################
# mock provider behind nginx

start_mock($t, name => 'cheap', port => $t->port(8081));
$t->run;
ok($t->waitforsocket('127.0.0.1:' . $t->port(8080)), 'nginx listens');
is(scalar(my @w = $t->worker_pids), 1, 'one worker');

my $body = '{"model":"gpt-4o-mini","messages":[{"role":"user",'
         . '"content":"hello"}]}';
my $r = $t->http_post('/v1/chat/completions', $body);
is($r->{status}, 200, 'openai: status');
is($r->{headers}{'x-mock-name'}, 'cheap', 'openai: mock name');
is($r->{headers}{'x-mock-model'}, 'gpt-4o-mini', 'openai: model seen');
is($r->{headers}{'x-mock-body-length'}, length $body, 'openai: length');
is($r->{headers}{'x-mock-content-length'}, length $body, 'openai: c-l');
is($r->{headers}{'x-mock-body-sha1'}, sha1_hex($body), 'openai: sha1');
is($r->{headers}{'x-mock-path'}, '/v1/chat/completions', 'openai: path');
is($r->{json}{usage}{total_tokens}, 30, 'openai: usage');
ok($r->{json}{mock}{body_valid_json}, 'openai: body valid json');
is($r->{json}{mock}{received}{messages}[0]{content}, 'hello',
   'openai: received body echoed');
$t->error_log_like(qr/http request line: "POST \/v1\/chat\/completions/,
                   'error_log_like sees the request');
$t->no_error_log(qr/\[error\]/, 'no_error_log');

$r = $t->http_post('/v1/messages', { model => 'claude-x', max_tokens => 5 },
                   'X-Mock-Usage' => '3,4');
is($r->{json}{usage}{output_tokens}, 4, 'anthropic: usage header');
is($r->{json}{type}, 'message', 'anthropic: format');

$r = $t->http_post('/v1beta/models/gemini-2.0-flash:generateContent',
                   { contents => [] });
is($r->{json}{usageMetadata}{totalTokenCount}, 30, 'gemini: usage');
is($r->{headers}{'x-mock-model'}, 'none', 'gemini: no body model');

$r = $t->http_post('/v1/chat/completions', { model => 'm', stream => \1,
                   stream_options => { include_usage => \1 } });
like($r->{content}, qr/"usage":\{"completion_tokens":20.*data: \[DONE\]/s,
     'openai stream: usage chunk and [DONE]');

$r = $t->http_post('/v1/chat/completions', { model => 'm' },
                   'X-Mock-Status' => 429, 'X-Mock-Retry-After' => 7);
is($r->{status}, 429, 'X-Mock-Status');
is($r->{headers}{'retry-after'}, 7, 'X-Mock-Retry-After');

mock_fail($t, 'cheap', 503);
is($t->http_post('/v1/chat/completions', '{}')->{status}, 503,
   'fail file switches the mock to 503');
mock_ok($t, 'cheap');
is($t->http_post('/v1/chat/completions', '{}')->{status}, 200,
   'and back to 200');

# chunked request bodies: nginx buffers them and sends Content-Length,
# or passes them through as chunked with proxy_request_buffering off

my $head = "POST /v1/chat/completions HTTP/1.1\r\n"
    . "Host: localhost\r\n"
    . "Content-Type: application/json\r\n"
    . "Transfer-Encoding: chunked\r\n"
    . "Connection: close\r\n\r\n";
my @parts = (sprintf("%x\r\n%s\r\n", 26, substr($body, 0, 26)),
             sprintf("%x\r\n%s\r\n0\r\n\r\n", length($body) - 26,
                     substr($body, 26)));
my $raw = $t->http_raw($head, body => \@parts, sleep => 0.1);
my $p = parse_http($raw);
is($p->{status}, 200, 'chunked: status');
is($p->{headers}{'x-mock-body-sha1'}, sha1_hex($body), 'chunked: body');
is($p->{headers}{'x-mock-content-length'}, length $body,
   'chunked: nginx sent content-length');

$r = $t->http_post('/v1/chat/completions', $body, chunked => 1,
                   chunk_size => 10);
is($r->{headers}{'x-mock-body-sha1'}, sha1_hex($body),
   'http_post chunked => 1');

$head =~ s{ /v1}{ /unbuffered/v1};
$p = parse_http($t->http_raw($head, body => \@parts, sleep => 0.2));
is($p->{headers}{'x-mock-transfer-encoding'}, 'chunked',
   'unbuffered: mock got chunked');
is($p->{headers}{'x-mock-content-length'}, 'none',
   'unbuffered: no content-length');
is($p->{headers}{'x-mock-body-sha1'}, sha1_hex($body),
   'unbuffered: mock decoded chunked body');
is($p->{headers}{'x-mock-path'}, '/v1/chat/completions',
   'unbuffered: path');

# concurrency: three slow requests in parallel

my $start = time;
my @s = map { $t->http_raw("GET /v1/models HTTP/1.0\r\nX-Mock-Delay: 1"
                           . "\r\n\r\n", start => 1) } 1 .. 3;
my @codes = map { parse_http($t->http_end($_))->{status} } @s;
is("@codes", '200 200 200', 'parallel: all answered');
cmp_ok(time - $start, '<', 2.5, 'parallel: served concurrently');

is(scalar(grep { $_->{model} && $_->{model} eq 'gpt-4o-mini' }
          mock_requests($t, 'cheap')), 4, 'mock_requests log');

###########################################################################
# reload

my @old = $t->worker_pids;
$t->write_file_expand('nginx.conf', $conf =~ s/"v1"/"v2"/r);
ok($t->reload, 'reload');
my @new = $t->worker_pids;
ok(@new && !grep({ my $o = $_; grep { $_ == $o } @new } @old),
   'reload: new workers');
is($t->http_get('/version')->{content}, 'v2', 'reload: new config');
is($t->http_post('/v1/chat/completions', $body)->{status}, 200,
   'reload: still proxying');

###########################################################################
# redis and the RESP client

# redis-server is a test dependency (./build.sh test installs it)
BAIL_OUT('redis-server is not installed (apt-get install redis-server)')
    unless grep { -x "$_/redis-server" } split /:/, $ENV{PATH};

{

    my $rp = $t->start_redis;
    is(redis_cmd($rp, 'SET', 'k', 'v'), 'OK', 'redis: SET');
    is(redis_cmd($rp, 'GET', 'k'), 'v', 'redis: GET');
    is(redis_cmd($rp, 'INCRBY', 'n', 5), 5, 'redis: INCRBY');
    is(redis_cmd($rp, 'GET', 'missing'), undef, 'redis: nil');
    like(redis_cmd($rp, 'NOSUCHCMD')->{error}, qr/^ERR unknown command/,
         'redis: error reply');
    my @rep = redis_cmds($rp, ['MULTI'], ['INCR', 'n'], ['LRANGE', 'l', 0, -1],
                         ['EXEC']);
    is_deeply($rep[-1], [6, []], 'redis: pipeline and nested array');
    my $big = 'x' x 100000;
    redis_cmd($rp, 'SET', 'big', $big);
    is(length(redis_cmd($rp, 'GET', 'big')), 100000, 'redis: 100 KB reply');
    $t->stop_redis($rp);
    ok(!eval { redis_cmd($rp, 'PING'); 1 }, 'redis: stopped');
}

my $stub = $t->start_resp_stub(reply => "\$2\r\nhi\r\n");
is(redis_cmd($stub, 'GET', 'x'), 'hi', 'resp stub');

$t->done_testing;
