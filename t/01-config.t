#!/usr/bin/perl

# nginx -t: good configurations load, bad ones are refused with a message
# naming the directive and the value.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use LLMRouter::Test;
use LLMRouter::Setup;

my $t = LLMRouter::Test->new;

my $good = router_conf();

my ($rc, $out) = $t->test_config($good);
is($rc, 0, 'the reference configuration is accepted') or diag($out);

# the example a user copies is valid too (module path and log redirected)

my $example = $t->read_file("$FindBin::Bin/../examples/nginx.conf");
my $so = $t->module_path;
my $dir = $t->testdir;
$example =~ s{^load_module .*$}{load_module $so;}m;
$example =~ s{/var/log/nginx/}{$dir/}g;
$example =~ s{^(http \{)}{$1\n${\ $t->test_globals_http}}m;
($rc, $out) = $t->test_config($example);
is($rc, 0, 'examples/nginx.conf is accepted') or diag($out);

# what only llmr uses (calibration, training: core/offline) is not in the
# module every worker maps

my @syms = grep { /\bllmr_/ } split /\n/, `nm $so 2>&1`;
ok(@syms > 50, 'nm reads the module\'s core symbols') or diag("@syms[0..3]");
is(join(' ', grep { /\bllmr_(cal|train)_/ } @syms), '',
   'no calibration or training code in the module');

sub bad {
    my ($name, $re, %conf) = @_;
    my ($rc, $out) = $t->test_config(router_conf(%conf));
    isnt($rc, 0, "$name: refused");
    like($out, $re, "$name: message") or diag($out);
}

sub model_line {
    my ($line) = @_;
    return (models => $LLMRouter::Setup::MODELS . "    $line\n");
}

bad('unknown tier', qr/llm_model "x": invalid tiers "hard"/,
    model_line('llm_model x provider=openai upstream=cheap_pool tiers=hard;'));

bad('inverted range',
    qr/llm_model "x": inverted tier range "expert-simple"/,
    model_line('llm_model x provider=openai upstream=cheap_pool '
               . 'tiers=expert-simple;'));

bad('negative price', qr/llm_model "x": invalid input price "-2"/,
    model_line('llm_model x provider=openai upstream=cheap_pool '
               . 'tiers=simple input=-2;'));

bad('malformed price', qr/llm_model "x": invalid output price "1,5"/,
    model_line('llm_model x provider=openai upstream=cheap_pool '
               . 'tiers=simple output=1,5;'));

bad('missing upstream parameter', qr/llm_model "x": .*missing upstream=/,
    model_line('llm_model x provider=openai tiers=simple;'));

bad('undefined upstream block',
    qr/llm_model "x": upstream "nowhere_pool" is not defined/,
    model_line('llm_model x provider=openai upstream=nowhere_pool '
               . 'tiers=simple;'));

bad('duplicate model', qr/llm_model "mid-model": duplicate model "mid-model"/,
    model_line('llm_model mid-model provider=openai upstream=mid_pool '
               . 'tiers=simple;'));

bad('unknown parameter', qr/unknown parameter "flavour=sweet"/,
    model_line('llm_model x provider=openai upstream=mid_pool '
               . 'tiers=simple flavour=sweet;'));

bad('unknown capability', qr/invalid caps "vision,smell"/,
    model_line('llm_model x provider=openai upstream=mid_pool '
               . 'tiers=simple caps=vision,smell;'));

bad('zone missing', qr/"llm_route" requires "llm_router_zone"/,
    zone => '');

bad('no models', qr/"llm_route" requires at least one "llm_model"/,
    models => '');

bad('bad default tier',
    qr/invalid tier "medium" in "llm_route_default_tier"/,
    location => 'llm_route_default_tier medium;');

bad("bad llm_route value", qr/invalid value "maybe" in "llm_route" directive, it must be "off", "on" or "fallback"/,
    server => 'location /x/ { llm_route maybe; }');

bad("bad on_error value", qr/invalid value "ignore" in "llm_route_on_error" directive/,
    location => 'llm_route_on_error ignore;');

bad('bad max body', qr/"llm_route_max_body" directive invalid value/,
    location => 'llm_route_max_body lots;');

bad('escalation to an unknown model',
    qr/unknown model "huge-model" in "llm_route_escalate" to=/,
    location => 'llm_route_escalate threshold=0.5 to=huge-model;');

bad('escalation without a threshold', qr/"llm_route_escalate" needs threshold=/,
    location => 'llm_route_escalate to=big-model;');

bad('duplicate zone', qr/"llm_router_zone" directive is duplicate/,
    http => 'llm_router_zone other 1m;');

bad('tiny zone', qr/zone "llm" is too small/,
    zone => 'llm_router_zone llm 8k;');

bad('llm_model outside http', qr/"llm_model" directive is not allowed here/,
    location => 'llm_model y provider=openai upstream=mid_pool tiers=simple;');

# the JSON registry

$t->write_file('models.json', <<'EOF');
{"models": [
  {"name": "cheap-model", "provider": "openai", "upstream": "cheap_pool",
   "tiers": "trivial-simple", "input": 0.15, "output": 0.6},
  {"name": "big-model", "provider": "anthropic", "upstream": "big_pool",
   "tiers": "moderate-expert", "input": 15, "output": 75,
   "caps": ["vision", "tools"]}
]}
EOF

($rc, $out) = $t->test_config(router_conf(
    models => "    llm_models %%TESTDIR%%/models.json;\n"));
is($rc, 0, 'llm_models file accepted') or diag($out);

$t->write_file('bad.json', '{"models": [{"name": "a", "provider": '
               . '"openai", "upstream": "cheap_pool", "tiers": "x"}]}');
bad('llm_models with a bad tier', qr/llm_models ".*bad\.json": invalid tiers "x"/,
    models => "    llm_models %%TESTDIR%%/bad.json;\n");

$t->write_file('broken.json', '{"models": [');
bad('llm_models with broken JSON', qr/llm_models ".*broken\.json": invalid JSON/,
    models => "    llm_models %%TESTDIR%%/broken.json;\n");

bad('llm_models missing file', qr/llm_models ".*nope\.json": cannot open/,
    models => "    llm_models %%TESTDIR%%/nope.json;\n");

$t->write_file('undefined.json', '[{"name": "a", "provider": "openai", '
               . '"upstream": "ghost_pool", "tiers": "simple"}]');
bad('llm_models naming an undefined upstream',
    qr/upstream "ghost_pool" is not defined .* in .*nginx-t\.conf:\d+/,
    models => "    llm_models %%TESTDIR%%/undefined.json;\n");

$t->done_testing;
