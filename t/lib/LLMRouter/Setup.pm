package LLMRouter::Setup;

# The configuration most integration tests share: three models on three
# mock providers (cheap / mid / big), as in README.md, plus a routed /v1/
# location that reports the decision in response headers.
#
#   my $t = LLMRouter::Test->new;
#   start_providers($t);
#   $t->run(router_conf(http => '...', location => '...', server => '...'));

use strict;
use warnings;

use Exporter 'import';
use LLMRouter::MockLLM;

our @EXPORT = qw(router_conf start_providers chat_body);

our $MODELS = <<'EOF';
    llm_model cheap-model provider=openai    upstream=cheap_pool tiers=trivial-simple input=0.15 output=0.60 context=128000 id=gpt-4o-mini;
    llm_model mid-model   provider=openai    upstream=mid_pool   tiers=simple-complex input=3    output=15   context=200000 caps=vision,tools;
    llm_model big-model   provider=anthropic api=openai upstream=big_pool tiers=complex-expert input=15   output=75   context=200000 caps=vision,tools id=claude-big;
EOF

sub router_conf {
    my (%o) = @_;
    my $http = $o{http} // '';
    my $loc = $o{location} // '';
    my $server = $o{server} // '';
    my $models = $o{models} // $MODELS;
    my $zone = exists $o{zone} ? $o{zone} : 'llm_router_zone llm 1m;';
    # the suites built on this route each request among its own API's
    # models (t/34-translate.t is about the other way)
    my $translate = $o{translate} // 'off';

    return <<"EOF";
%%TEST_GLOBALS%%
%%LOAD_MODULE%%

events {
    worker_connections 1024;
}

http {
    %%TEST_GLOBALS_HTTP%%

    $zone
    llm_route_translate $translate;
$models
    upstream cheap_pool { server 127.0.0.1:%%PORT_8081%%; }
    upstream mid_pool   { server 127.0.0.1:%%PORT_8082%%; }
    upstream big_pool   { server 127.0.0.1:%%PORT_8083%%; }

$http
    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location /v1/ {
            llm_route on;
            proxy_pass http://\$llm_upstream;

            add_header X-LLM-Model \$llm_model always;
            add_header X-LLM-Model-Id \$llm_model_id always;
            add_header X-LLM-Provider \$llm_provider always;
            add_header X-LLM-Upstream \$llm_upstream always;
            add_header X-LLM-Tier \$llm_tier always;
            add_header X-LLM-Score \$llm_score always;
            add_header X-LLM-Confidence \$llm_confidence always;
            add_header X-LLM-Domain \$llm_domain always;
            add_header X-LLM-Est-Cost \$llm_est_cost always;
            add_header X-LLM-Reason \$llm_reason always;
            add_header X-LLM-Format \$llm_format always;
            add_header X-LLM-Input-Tokens \$llm_input_tokens always;
$loc
        }

        location = /llm/route {
            llm_route_explain;
        }

$server
    }
}
EOF
}

sub start_providers {
    my ($t, %opts) = @_;
    start_mock($t, name => 'cheap', port => $t->port(8081), %opts);
    start_mock($t, name => 'mid', port => $t->port(8082), %opts);
    start_mock($t, name => 'big', port => $t->port(8083), %opts);
}

# an OpenAI chat body with one user message (and optional extra keys)
sub chat_body {
    my ($text, %extra) = @_;
    return { model => 'auto',
             messages => [ { role => 'user', content => $text } ],
             %extra };
}

1;
