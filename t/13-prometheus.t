#!/usr/bin/perl

# llm_status as Prometheus text (?format=prometheus, or Accept:
# text/plain; version=0.0.4), validated by a strict parser and, when it
# is installed, by promtool; the instance and fleet views (llm_redis);
# names from outside the configuration (a model name and a health reason
# another instance wrote into the fleet's Redis) with quotes, backslashes,
# control characters and bytes that are not UTF-8 keep the JSON and the
# Prometheus text valid.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp ();
use Test::More;

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;
use LLMRouter::Prom;

my $t = LLMRouter::Test->new->workers(2);

my $rport = $t->start_redis;

start_providers($t);

# model names at the edge of what the registry allows
my $edge = 'a.b:c/d@e+f-g_h';

$t->write_file('models.json', <<"EOF");
{"models": [{"name": "$edge", "provider": "p_q-r", "api": "openai", "upstream": "cheap_pool",
             "tiers": "trivial-expert", "input": 1, "output": 2}]}
EOF

$t->run(router_conf(
    http => "llm_redis 127.0.0.1:$rport flush=200ms timeout=500ms;",
    models => "    llm_models %%TESTDIR%%/models.json;\n",
    server => 'location = /llm/status { llm_status; }'));

my $promtool = `sh -c 'command -v promtool' 2>/dev/null`;
chomp $promtool;

sub scrape {
    my (%h) = @_;
    my $r = $t->http_get('/llm/status' . ($h{args} // '?format=prometheus'),
                         %{ $h{headers} // {} });
    return $r;
}

# promtool check metrics: (exit code, output)
sub promtool {
    my ($text) = @_;
    my $f = File::Temp->new;
    binmode $f;
    print $f $text;
    close $f;
    my $out = `'$promtool' check metrics < '$f' 2>&1`;
    return ($? >> 8, $out);
}

sub valid {
    my ($text, $what) = @_;
    my ($samples, $errors) = prom_parse($text);
    is(join("\n", @$errors), '', "$what: the strict parser finds no error");
    # ./build.sh test installs promtool (Debian: prometheus): no skipping
    if (!$promtool) {
        fail("$what: promtool check metrics (promtool is not installed: "
             . 'apt-get install prometheus)');
    } else {
        my ($rc, $out) = promtool($text);
        is($rc, 0, "$what: promtool check metrics") or diag($out);
    }
    return $samples;
}

my $r = scrape();
is($r->{status}, 200, 'prometheus: 200');
is($r->{headers}{'content-type'}, 'text/plain; version=0.0.4; charset=utf-8',
   'the exposition content type');
my $s = valid($r->{content}, 'before any traffic');
is(prom_value($s, 'llm_router_requests_total', view => 'instance'), 0,
   'no requests yet');

$r = scrape(args => '', headers => { Accept => 'text/plain; version=0.0.4' });
like($r->{headers}{'content-type'}, qr{^text/plain}, 'by Accept too');
$r = scrape(args => '', headers => {
    Accept => 'application/openmetrics-text;version=1.0.0;q=0.5,'
              . 'text/plain;version=0.0.4;q=0.5,*/*;q=0.1' });
like($r->{headers}{'content-type'}, qr{^text/plain}, 'Prometheus\' Accept');
$r = scrape(args => '', headers => { Accept => '*/*' });
is($r->{headers}{'content-type'}, 'application/json', '*/*: JSON');

# traffic, one error, one timeout-free 5xx

$t->http_post('/v1/chat/completions', chat_body("hello $_")) for 1 .. 5;
$t->http_post('/v1/chat/completions', chat_body('hi'), 'X-Mock-Status' => 503);

my $text;
for (1 .. 50) {
    $text = scrape()->{content};
    $s = (prom_parse($text))[0];
    last if (prom_value($s, 'llm_router_requests_total', view => 'fleet')
             // 0) == 6;
    select(undef, undef, undef, 0.1);
}

$s = valid($text, 'after traffic');
is(prom_value($s, 'llm_router_requests_total', view => 'instance'), 6,
   'requests: instance');
is(prom_value($s, 'llm_router_requests_total', view => 'fleet'), 6,
   'requests: fleet');
my %m = (view => 'instance', model => $edge, provider => 'p_q-r');
is(prom_value($s, 'llm_router_model_requests_total', %m), 6,
   'per model, the edge name as a label');
is(prom_value($s, 'llm_router_model_responses_total', %m,
              status_class => '5xx'), 1, 'status_class 5xx');
is(prom_value($s, 'llm_router_model_responses_total', %m,
              status_class => '2xx'), 5, 'status_class 2xx');
is(prom_value($s, 'llm_router_model_latency_seconds_count', %m), 6,
   'the latency histogram counts every answer');
is(prom_value($s, 'llm_router_model_latency_seconds_bucket', %m,
              le => '+Inf'), 6, '  its +Inf bucket');
ok(defined prom_value($s, 'llm_router_model_latency_seconds_sum', %m),
   '  its sum');
is(prom_value($s, 'llm_router_model_tokens_total', %m, type => 'input'), 50,
   'tokens by type');
is(prom_value($s, 'llm_router_tier_requests_total', view => 'fleet',
              tier => 'trivial'), 6, 'per tier, fleet view');
ok(defined prom_value($s, 'llm_router_domain_requests_total',
                      view => 'instance', domain => 'general'),
   'per domain');
is(prom_value($s, 'llm_router_model_health', model => $edge,
              state => 'healthy'), 1, 'health state');
is(prom_value($s, 'llm_router_redis_up'), 1, 'redis up');
ok(prom_value($s, 'llm_router_reference_cost_usd_total', view => 'instance')
   > 0, 'reference cost');
ok(!grep({ $_->{name} =~ /_total$/ && $_->{type} ne 'counter' } @$s),
   'every *_total is a counter');
ok(!grep({ $_->{name} !~ /^llm_router_/ } @$s), 'every name is llm_router_*');
ok(!grep({ /hello/ } $text), 'no prompt text');

# hostile names through Redis: what another instance (or anyone who can
# write the fleet's keys) sends back is shown, escaped

my $evil = "ev\"il\\na\x01me\n\x7f\xff\xfe";
my $reason = "q\"uote b\\ack \x02ctl\nnl \xc3\xa9 \xc3";
redis_cmd($rport, 'HSET', '{llm}:fleet', "m|$evil|requests", 7);
redis_cmd($rport, 'HSET', '{llm}:health', $edge,
          (int(time() * 1000) + 60000) . "|$reason");

my $json;
for (1 .. 50) {
    $json = $t->http_get('/llm/status')->{json};
    last if $json && grep({ /^ev/ } keys %{ $json->{fleet}{models} })
            && ($json->{health}{$edge}{reason} // '') =~ /^fleet/;
    select(undef, undef, undef, 0.1);
}

ok($json, 'the JSON still parses');
my ($name) = grep { /^ev/ } keys %{ $json->{fleet}{models} // {} };
is($name, "ev\"il\\na\x01me\n\x7f\x{fffd}\x{fffd}",
   'the fleet model name: escaped, invalid bytes as U+FFFD');
is($json->{fleet}{models}{$name}{requests}, 7, '  with its count');
is($json->{health}{$edge}{reason},
   "fleet: q\"uote b\\ack \x02ctl\nnl \x{e9} \x{fffd}",
   'the fleet health reason: escaped');
is($json->{health}{$edge}{state}, 'down', '  and the model is down');

$text = scrape()->{content};
$s = valid($text, 'with hostile names');
my ($sample) = grep { ($_->{labels}{model} // '') =~ /^ev/ } @$s;
is($sample->{labels}{model}, "ev\"il\\na?me\n???",
   'the label: \\, " and \n escaped, other bytes replaced');
like($text, qr/model="ev\\"il\\\\na\?me\\n\?\?\?"/,
     'the raw label escapes');

$t->done_testing;
