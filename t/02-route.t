#!/usr/bin/perl

# Routing through the real nginx: tiers to models, the rewritten body the
# provider receives, variables, capabilities, floors, pinned models, the
# explain endpoint.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;

my $t = LLMRouter::Test->new->workers(2);

start_providers($t);

# the three APIs' models: Gemini's cheapest at every tier, so a request
# routed to a model its API cannot serve would show

my $models = $LLMRouter::Setup::MODELS . <<'EOF';
    llm_model claude-haiku provider=anthropic upstream=big_pool tiers=trivial-expert input=0.8 output=4 id=claude-3-5-haiku;
    llm_model gemini-flash provider=google upstream=mid_pool tiers=trivial-expert input=0.1 output=0.4 id=gemini-2.0-flash;
EOF

$t->run(router_conf(models => $models, http => <<'MAP', server => <<'EOF'));
    map $llm_tier $llm_price_class {
        default  standard;
        expert   premium;
    }
MAP
        location /pinned/ {
            llm_route on;
            llm_route_client_model on;
            llm_route_client_tier off;
            proxy_pass http://$llm_upstream;
            add_header X-LLM-Model $llm_model always;
            add_header X-LLM-Reason $llm_reason always;
        }

        location /gemini/ {
            llm_route on;
            proxy_pass http://$llm_upstream$llm_upstream_uri;
            add_header X-LLM-Model $llm_model always;
            add_header X-LLM-Api $llm_api always;
        }

        location /v1beta/ {
            llm_route on;
            llm_route_client_model on;
            proxy_pass http://$llm_upstream$llm_upstream_uri;
            add_header X-LLM-Model $llm_model always;
            add_header X-LLM-Endpoint $llm_endpoint always;
        }

        location = /llm/status { llm_status; }

        location /logged/ {
            llm_route on;
            proxy_pass http://$llm_upstream/v1/chat/completions;
            add_header X-Mapped $llm_price_class always;
        }
EOF

sub post {
    my ($body, %h) = @_;
    return $t->http_post('/v1/chat/completions', $body, %h);
}

# a greeting goes to the cheapest model, with the body rewritten

my $body = chat_body('hello there!', temperature => 0.2);
my $r = post($body);
is($r->{status}, 200, 'greeting: 200');
is($r->{headers}{'x-mock-name'}, 'cheap', 'greeting: cheap provider');
is($r->{headers}{'x-llm-model'}, 'cheap-model', 'greeting: $llm_model');
is($r->{headers}{'x-llm-model-id'}, 'gpt-4o-mini', 'greeting: $llm_model_id');
is($r->{headers}{'x-llm-upstream'}, 'cheap_pool', 'greeting: $llm_upstream');
is($r->{headers}{'x-llm-provider'}, 'openai', 'greeting: $llm_provider');
is($r->{headers}{'x-llm-tier'}, 'trivial', 'greeting: trivial tier');
is($r->{headers}{'x-llm-format'}, 'openai_chat', 'greeting: $llm_format');
like($r->{headers}{'x-llm-score'}, qr/^0\.\d{3}$/, 'greeting: $llm_score');
like($r->{headers}{'x-llm-confidence'}, qr/^[01]\.\d{3}$/,
     '$llm_confidence');
like($r->{headers}{'x-llm-est-cost'}, qr/^0\.\d{6}$/, '$llm_est_cost');
like($r->{headers}{'x-llm-input-tokens'}, qr/^\d+$/, '$llm_input_tokens');
is($r->{headers}{'x-mock-model'}, 'gpt-4o-mini', 'provider got the id');

my $got = $r->{json}{mock}{received};
is_deeply($got, { %$body, model => 'gpt-4o-mini' },
          'the provider got the same body with the model replaced');
is($r->{headers}{'x-mock-content-length'},
   $r->{headers}{'x-mock-body-length'},
   'Content-Length matches the rewritten body');

# a larger, harder request goes up

my $design = 'Design a distributed, multi-region event-sourcing architecture '
    . 'for a payments platform with exactly-once semantics. Compare the '
    . 'consistency models, explain the trade-offs between availability and '
    . 'latency, and propose a migration plan from the current monolith, step '
    . 'by step, with failure modes and how to test each one.';
$r = post(chat_body($design));
is($r->{status}, 200, 'architecture: 200');
like($r->{headers}{'x-llm-tier'}, qr/^(complex|expert)$/,
     'architecture: complex or expert');
isnt($r->{headers}{'x-mock-name'}, 'cheap', 'architecture: not cheap');
ok($r->{headers}{'x-llm-score'} > 0.5, 'architecture: high score');

# the body without a model gets one

$r = post({ messages => [ { role => 'user', content => 'hi' } ] });
is($r->{headers}{'x-mock-model'}, 'gpt-4o-mini', 'model added when absent');
ok($r->{json}{mock}{body_valid_json}, 'and the body stays valid JSON');

# model with odd whitespace and position

my $raw = "{ \"messages\" : [ {\"role\":\"user\",\"content\":\"hi\"} ] ,\n"
        . "  \"model\"   :\t \"whatever\" , \"n\": 1 }";
$r = post($raw);
is($r->{headers}{'x-mock-model'}, 'gpt-4o-mini', 'model replaced in place');
is_deeply($r->{json}{mock}{received},
          { messages => [ { role => 'user', content => 'hi' } ],
            model => 'gpt-4o-mini', n => 1 }, 'everything else unchanged');

# capabilities: an image needs a vision model, tools a tools model

$r = post({ model => 'auto', messages => [ { role => 'user', content => [
    { type => 'text', text => 'what is in this picture?' },
    { type => 'image_url', image_url => { url => 'data:image/png;base64,AAAA' } },
] } ] });
is($r->{headers}{'x-mock-name'}, 'mid', 'image: vision model');
like($r->{headers}{'x-llm-reason'}, qr/needs_vision/, 'image: reason');

$r = post(chat_body('what is the weather in Paris?', tools => [
    { type => 'function', function => { name => 'weather',
      parameters => { type => 'object' } } } ]));
is($r->{headers}{'x-mock-name'}, 'mid', 'tools: tools model');
like($r->{headers}{'x-llm-reason'}, qr/needs_tools/, 'tools: reason');

# a context window nobody has: a clear 422

$r = post(chat_body('hello', max_tokens => 500000));
is($r->{status}, 422, 'too large for every window: 422');
is($r->{json}{error}{code}, 'llm_no_model', 'error code');
like($r->{json}{error}{message}, qr/context window/, 'error says why');
is(scalar(grep { $_->{model} } mock_requests($t, 'cheap')),
   scalar(mock_requests($t, 'cheap')), 'nothing odd reached providers');

# a tier floor from the client

$r = post(chat_body('hello'), 'X-LLM-Min-Tier' => 'expert');
is($r->{headers}{'x-mock-name'}, 'big', 'X-LLM-Min-Tier: expert -> big');
is($r->{headers}{'x-mock-model'}, 'claude-big', 'big gets its id');
like($r->{headers}{'x-llm-reason'}, qr/min_tier/, 'min_tier reason');

$r = post(chat_body('hello'), 'X-LLM-Min-Tier' => 'ultra');
is($r->{status}, 400, 'unknown min tier: 400');
like($r->{json}{error}{message}, qr/X-LLM-Min-Tier/, 'and says which');

# pinned models where allowed

$r = $t->http_post('/pinned/chat/completions',
                   chat_body('hello', model => 'big-model'));
is($r->{headers}{'x-mock-name'}, 'big', 'pinned by name');
like($r->{headers}{'x-llm-reason'}, qr/client_model/, 'client_model reason');

$r = $t->http_post('/pinned/chat/completions',
                   chat_body('hello', model => 'claude-big'));
is($r->{headers}{'x-mock-name'}, 'big', 'pinned by provider id');

$r = $t->http_post('/pinned/chat/completions',
                   chat_body('hello', model => 'gpt-9-ultra'));
is($r->{headers}{'x-mock-name'}, 'cheap', 'unknown model is routed');
is($r->{headers}{'x-mock-model'}, 'gpt-4o-mini', 'and rewritten');

$r = post(chat_body('hello', model => 'big-model'));
is($r->{headers}{'x-mock-name'}, 'cheap', 'no pinning where not allowed');

$r = $t->http_post('/pinned/chat/completions', chat_body('hello'),
                   'X-LLM-Min-Tier' => 'expert');
is($r->{headers}{'x-mock-name'}, 'cheap',
   'min tier header ignored with llm_route_client_tier off');

# other formats

$r = $t->http_post('/v1/messages', { model => 'claude-whatever',
    max_tokens => 100, system => 'You are terse.',
    messages => [ { role => 'user', content => [
        { type => 'text', text => 'hello' } ] } ] });
is($r->{status}, 200, 'anthropic: 200');
is($r->{headers}{'x-llm-format'}, 'anthropic', 'anthropic: format');
is($r->{headers}{'x-llm-model'}, 'claude-haiku',
   'anthropic: an Anthropic model, not the cheaper OpenAI or Gemini ones');
is($r->{headers}{'x-mock-model'}, 'claude-3-5-haiku', 'anthropic: rewritten');
like($r->{headers}{'x-llm-reason'}, qr/skipped_api/,
     'anthropic: the reason says cheaper models were skipped for their API');

$r = $t->http_post('/gemini/chat', { contents => [ { role => 'user',
    parts => [ { text => 'hello' } ] } ] });
is($r->{status}, 200, 'gemini: 200');
is($r->{headers}{'x-llm-model'}, 'gemini-flash', 'gemini: a Gemini model');
is($r->{headers}{'x-llm-api'}, 'gemini', 'gemini: $llm_api');
is($r->{headers}{'x-mock-path'},
   '/v1beta/models/gemini-2.0-flash:generateContent',
   'gemini: $llm_upstream_uri names the model in the path');
is($r->{headers}{'x-mock-model'}, 'none', 'gemini: body has no model');
is($r->{json}{mock}{body_length}, length(LLMRouter::Test::json_encode(
   { contents => [ { role => 'user', parts => [ { text => 'hello' } ] } ] })),
   'gemini: body untouched');

# Gemini's own paths: the method and the query are kept

my $gbody = { contents => [ { role => 'user',
                              parts => [ { text => 'hello' } ] } ] };
$r = $t->http_post('/v1beta/models/gemini-pro:streamGenerateContent?alt=sse',
                   $gbody);
is($r->{headers}{'x-mock-uri'},
   '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse',
   'gemini stream: the model replaced, the method and ?alt=sse kept');

$r = $t->http_post('/v1beta/models/gemini-flash:generateContent', $gbody,
                   'X-LLM-Min-Tier' => 'expert');
is($r->{headers}{'x-llm-model'}, 'gemini-flash',
   'gemini: the model the URL names is pinned (llm_route_client_model)');

$r = $t->http_post('/v1beta/models/gemini-pro:countTokens', $gbody);
is($r->{status}, 200, 'countTokens: 200');
is($r->{headers}{'x-mock-path'}, '/v1beta/models/gemini-pro:countTokens',
   "countTokens: passed through untouched, the client's model kept");
is($r->{headers}{'x-mock-name'}, 'mid',
   'countTokens: to the Gemini passthrough upstream');
is($r->{headers}{'x-llm-endpoint'}, 'count_tokens', '$llm_endpoint');
ok(!$r->{headers}{'x-llm-model'}, 'countTokens: no model was routed to');

$r = $t->http_post('/v1/responses', { model => 'x', input => 'hello',
                                      instructions => 'be brief' });
is($r->{headers}{'x-llm-format'}, 'openai_responses', 'responses: format');
is($r->{headers}{'x-mock-model'}, 'gpt-4o-mini', 'responses: rewritten');

$r = $t->http_post('/v1/completions', { model => 'x', prompt => 'hello' });
is($r->{headers}{'x-llm-format'}, 'openai_completions',
   'completions: format');

# variables work through map

$r = $t->http_post('/logged/x', chat_body('hello'));
is($r->{headers}{'x-mapped'}, 'standard', 'map over $llm_tier');
is($r->{headers}{'x-mock-path'}, '/v1/chat/completions', 'fixed path');
$r = $t->http_post('/logged/x', chat_body('hello'),
                   'X-LLM-Min-Tier' => 'expert');
is($r->{headers}{'x-mapped'}, 'premium', 'map follows the decision');

# what is not a generation passes through, unclassified and uncharged

# a routed request is counted in its log phase, which may run after its
# client has the answer and another worker the status request: the count
# to compare with is the settled one
my $before_st = $t->http_get('/llm/status');
for (1 .. 20) {
    select(undef, undef, undef, 0.1);
    my $again = $t->http_get('/llm/status');
    last if $again->{json}{instance}{requests}
            == $before_st->{json}{instance}{requests};
    $before_st = $again;
}

$r = $t->http_get('/v1/models');
is($r->{status}, 200, 'GET: 200');
is($r->{headers}{'x-mock-name'}, 'cheap',
   "GET: to the first OpenAI model's upstream");
is($r->{headers}{'x-llm-reason'}, 'passthrough', 'GET: reason');
is($r->{headers}{'x-mock-path'}, '/v1/models', 'GET: path untouched');

$r = $t->http_post('/v1/embeddings', { model => 'text-embedding-3-small',
                                       input => 'hello' });
is($r->{status}, 200, 'embeddings: 200');
is($r->{headers}{'x-mock-model'}, 'text-embedding-3-small',
   'embeddings: the model is not rewritten');
ok(!$r->{headers}{'x-llm-tier'}, 'embeddings: not classified');
ok($r->{headers}{'x-llm-request-id'}, 'embeddings: a request id');

$r = $t->http_post('/v1/messages/count_tokens', { model => 'claude-x',
    messages => [ { role => 'user', content => 'hello' } ] },
    'anthropic-version' => '2023-06-01');
is($r->{headers}{'x-mock-name'}, 'big',
   'count_tokens: to the Anthropic passthrough upstream');
is($r->{headers}{'x-mock-model'}, 'claude-x', 'count_tokens: untouched');

my $st = $t->http_get('/llm/status');
is($st->{json}{instance}{passthrough}{openai}{embeddings}, 1,
   'llm_status counts the embeddings call under its kind');
is($st->{json}{instance}{passthrough}{anthropic}{count_tokens}, 1,
   'and the count under its own');
is($st->{json}{instance}{requests}, $before_st->{json}{instance}{requests},
   'none counted as a routed request');

# explain answers the decision and proxies nothing

my $before = scalar(mock_requests($t, 'cheap'));
$r = $t->http_post('/llm/route', chat_body('hello there!'));
is($r->{status}, 200, 'explain: 200');
is($r->{json}{model}, 'cheap-model', 'explain: model');
is($r->{json}{tier}, 'trivial', 'explain: tier');
is($r->{json}{upstream}, 'cheap_pool', 'explain: upstream');
is($r->{json}{provider}, 'openai', 'explain: provider');
ok(defined $r->{json}{score} && defined $r->{json}{confidence}
   && defined $r->{json}{est_cost} && defined $r->{json}{domain},
   'explain: score, confidence, est_cost, domain');
is(ref $r->{json}{reasons}, 'ARRAY', 'explain: reasons');
is(scalar(mock_requests($t, 'cheap')), $before, 'explain proxies nothing');

$r = $t->http_get('/llm/route');
is($r->{status}, 405, 'explain: GET is 405');
is($r->{json}{error}{code}, 'llm_method_not_allowed', 'explain: 405 JSON');

$r = $t->http_post('/llm/route', '{"messages": 5}');
is($r->{status}, 400, 'explain: a bad body is 400');

# the same request routes the same way every time, on every worker

my %seen;
$seen{ post(chat_body($design))->{headers}{'x-llm-score'} }++ for 1 .. 10;
is(scalar(keys %seen), 1, 'deterministic across requests and workers');

$t->done_testing;
