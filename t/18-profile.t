#!/usr/bin/perl

# llm_route_profile: the order of candidates within a tier, from the
# models' quality data (llm_model intelligence=, speed=, ...).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;

# three models for the same tiers: cheap and dull, dear and bright, fast
my $models = <<'EOF2';
    llm_model cheap-model provider=openai upstream=cheap_pool tiers=trivial-expert input=0.1 output=0.4 intelligence=20 speed=50;
    llm_model mid-model   provider=openai upstream=mid_pool   tiers=trivial-expert input=5 output=20 intelligence=70 speed=80;
    llm_model big-model   provider=openai upstream=big_pool   tiers=trivial-expert input=2 output=8 intelligence=40 speed=400;
EOF2

my $server = '';
for my $p (qw(cost-efficiency balanced max-intelligence speed)) {
    $server .= "        location /$p/ {\n"
             . "            llm_route on;\n"
             . "            llm_route_profile $p;\n"
             . "            proxy_pass http://\$llm_upstream/v1/chat/completions;\n"
             . "            add_header X-LLM-Model \$llm_model always;\n"
             . "        }\n";
}

my $t = LLMRouter::Test->new;
start_providers($t);
$t->run(router_conf(models => $models, server => $server));

my %want = ('cost-efficiency' => 'cheap-model', 'max-intelligence' => 'mid-model',
            'speed' => 'big-model', 'balanced' => 'cheap-model');
for my $p (sort keys %want) {
    my $r = $t->http_post("/$p/x", chat_body('hello'));
    is($r->{headers}{'x-llm-model'}, $want{$p}, "profile $p: $want{$p}");
}

my ($rc, $out) = $t->test_config(router_conf(models => $models,
    location => 'llm_route_profile fastest;'));
isnt($rc, 0, 'an unknown profile is refused');
like($out, qr/invalid profile "fastest" in "llm_route_profile"/, 'message');

$t->done_testing;
