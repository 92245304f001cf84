#!/usr/bin/perl

# Exact cost accounting: the provider's usage read from JSON answers and
# SSE streams (OpenAI, Anthropic, Gemini) on their way to the client;
# stream_options.include_usage added to OpenAI streams; cut streams and
# aborted clients charged an estimate, once.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep);

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;

my $t = LLMRouter::Test->new->workers(1);
start_providers($t);
# the same prices for each API's model on the cheap provider

my $models = $LLMRouter::Setup::MODELS . <<'EOF';
    llm_model cheap-claude provider=anthropic upstream=cheap_pool tiers=trivial-expert input=0.15 output=0.60 id=claude-cheap;
    llm_model cheap-gemini provider=google upstream=cheap_pool tiers=trivial-expert input=0.15 output=0.60 id=gemini-cheap;
EOF

$t->run(router_conf(
    models => $models,
    http => 'llm_health off;',
    location => 'proxy_buffering off;',
    server => <<'EOF'));
        location = /llm/status { llm_status; }

        location /plain/ {
            llm_route on;
            llm_route_stream_usage off;
            proxy_pass http://$llm_upstream/v1/chat/completions;
        }

        location /gemini/ {
            llm_route on;
            proxy_buffering off;
            proxy_pass http://$llm_upstream/v1beta/models/$llm_model_id:streamGenerateContent?alt=sse;
            add_header X-LLM-Model $llm_model always;
        }
EOF

# cheap-model: $0.15 / $0.60 per million tokens, so micro-USD = 0.15 in + 0.6 out

sub cheap {
    my $name = shift // 'cheap-model';
    my $m = $t->http_get('/llm/status')->{json}{instance}{models}{$name};
    return { %$m };
}

sub delta {
    my ($before, $code, $name) = @_;
    $code->();

    # the log phase may end after the client has its answer
    my $after;
    for (1 .. 50) {
        $after = cheap($name);
        last if $after->{requests} > $before->{requests};
        sleep 0.05;
    }

    return { map { $_ => (($after->{$_} // 0) - ($before->{$_} // 0)) }
             qw(requests input_tokens output_tokens cost_usd
                cost_estimated_usd) };
}

sub near { abs($_[0] - $_[1]) < 5e-7 }

# a JSON answer: the provider's usage

my $d = delta(cheap(), sub {
    my $r = $t->http_post('/v1/chat/completions', chat_body('hello'),
                          'X-Mock-Usage' => '1000,500');
    is($r->{json}{usage}{prompt_tokens}, 1000, 'json: the answer is intact');
});
is($d->{requests}, 1, 'json: one request');
is($d->{input_tokens}, 1000, 'json: input tokens from usage');
is($d->{output_tokens}, 500, 'json: output tokens from usage');
ok(near($d->{cost_usd}, 0.00045), "json: exact cost $d->{cost_usd}");
ok(near($d->{cost_estimated_usd}, 0), 'json: nothing estimated');

# an OpenAI stream without stream_options: the rewrite asks for usage

my $got;
$d = delta(cheap(), sub {
    my $r = $t->http_post('/v1/chat/completions',
                          chat_body('hello', stream => \1),
                          'X-Mock-Usage' => '2000,100');
    like($r->{content}, qr/data: \[DONE\]/, 'stream: complete');
    my @reqs = mock_requests($t, 'cheap');
    $got = LLMRouter::Test::json_decode($reqs[-1]{body});
});
is_deeply($got->{stream_options}, { include_usage => \1 },
          'stream: include_usage was added for the provider')
    or diag(explain($got));
is($d->{input_tokens}, 2000, 'stream: input from the usage chunk');
is($d->{output_tokens}, 100, 'stream: output from the usage chunk');
ok(near($d->{cost_usd}, 0.00036), "stream: exact cost $d->{cost_usd}");
ok(near($d->{cost_estimated_usd}, 0), 'stream: nothing estimated');

# a client that said include_usage false keeps it; the cost is estimated

$d = delta(cheap(), sub {
    $t->http_post('/v1/chat/completions', chat_body('hello', stream => \1,
                  stream_options => { include_usage => \0 }));
    my @reqs = mock_requests($t, 'cheap');
    $got = LLMRouter::Test::json_decode($reqs[-1]{body});
});
is_deeply($got->{stream_options}, { include_usage => \0 },
          'include_usage false is left alone');
ok($d->{cost_estimated_usd} > 0, 'no usage: the cost is estimated');
is($d->{requests}, 1, 'charged once');

# llm_route_stream_usage off: the body is not touched beyond the model

$t->http_post('/plain/x', chat_body('hello', stream => \1));
$got = LLMRouter::Test::json_decode((mock_requests($t, 'cheap'))[-1]{body});
ok(!exists $got->{stream_options}, 'llm_route_stream_usage off');

# Anthropic stream: message_start + message_delta

$d = delta(cheap('cheap-claude'), sub {
    my $r = $t->http_post('/v1/messages', { model => 'x', max_tokens => 50,
        stream => \1, messages => [ { role => 'user', content => 'hello' } ] },
        'X-Mock-Usage' => '300,40');
    like($r->{content}, qr/message_stop/, 'anthropic stream: complete');
}, 'cheap-claude');
is($d->{input_tokens}, 300, 'anthropic stream: input');
is($d->{output_tokens}, 40, 'anthropic stream: output');
ok(near($d->{cost_estimated_usd}, 0), 'anthropic stream: exact');

# Gemini SSE: usageMetadata, the last one wins

$d = delta(cheap('cheap-gemini'), sub {
    my $r = $t->http_post('/gemini/x', { contents => [ { role => 'user',
        parts => [ { text => 'hello' } ] } ] }, 'X-Mock-Usage' => '70,30');
    is($r->{status}, 200, 'gemini stream: 200');
    is($r->{headers}{'x-llm-model'}, 'cheap-gemini', 'gemini stream: model');
}, 'cheap-gemini');
is($d->{input_tokens}, 70, 'gemini stream: input');
is($d->{output_tokens}, 30, 'gemini stream: output');
ok(near($d->{cost_estimated_usd}, 0), 'gemini stream: exact');

# the provider cuts the stream: an estimate from what was seen, once

$d = delta(cheap(), sub {
    $t->http_post('/v1/chat/completions', chat_body('hello', stream => \1),
                  'X-Mock-Cut' => 1);
});
is($d->{requests}, 1, 'cut stream: charged once');
ok($d->{cost_estimated_usd} > 0, 'cut stream: estimated');
ok(near($d->{cost_usd}, $d->{cost_estimated_usd}), 'cut stream: all of it');

# the client goes away mid-stream: charged once, estimated

my $before = cheap();
my $head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
    . "Content-Type: application/json\r\n";
my $body = '{"model":"auto","stream":true,"messages":[{"role":"user",'
         . '"content":"hello"}]}';
my $s = $t->http_raw($head . 'Content-Length: ' . length($body)
                     . "\r\nX-Mock-Chunk-Delay: 0.3\r\n\r\n$body",
                     start => 1);
sleep 0.5;
close $s if $s;
my $after;
for (1 .. 40) {
    $after = cheap();
    last if $after->{requests} > $before->{requests};
    sleep 0.1;
}
is($after->{requests} - $before->{requests}, 1,
   'client abort: charged once');
ok($after->{cost_estimated_usd} > $before->{cost_estimated_usd},
   'client abort: estimated');

$t->done_testing;
