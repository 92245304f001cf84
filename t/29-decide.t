#!/usr/bin/perl

# One decision: the module's explain endpoint (llm_route_explain) and
# `llmr explain --json` call the same llmr_decide(); fed the same body,
# registry and signals (the client's headers as options, a model the
# module saw fail as --down), they choose the same model at the same tier
# for the same reasons and cost.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use POSIX ();
use Test::More;

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;

my $repo = "$FindBin::Bin/..";
my $llmr = "$repo/build/llmr";

BAIL_OUT("$llmr is not built (./build.sh)") unless -x $llmr;

my $t = LLMRouter::Test->new;
my $dir = $t->testdir;

$t->write_file('models.json', <<'EOF');
{"models": [
 {"name": "cheap-model", "provider": "openai", "upstream": "cheap_pool",
  "tiers": "trivial-simple", "input": 0.15, "output": 0.6,
  "context": 128000, "id": "gpt-4o-mini"},
 {"name": "mid-model", "provider": "openai", "upstream": "mid_pool",
  "tiers": "simple-complex", "input": 3, "output": 15,
  "caps": ["vision", "tools"]},
 {"name": "big-model", "provider": "anthropic", "api": "openai",
  "upstream": "big_pool", "tiers": "complex-expert", "input": 15,
  "output": 75, "caps": ["vision", "tools"]},
 {"name": "claude", "provider": "anthropic", "upstream": "big_pool",
  "tiers": "trivial-expert", "input": 0.01, "output": 0.01}
]}
EOF

# the CLI's answer, in the explain endpoint's shape
my $translate = 0;     # the cases run without, then with translation

sub cli {
    my ($body, @args) = @_;
    push @args, '--no-translate' unless $translate;
    $t->write_file('body.json', $body);
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open(STDIN, '<', "$dir/body.json") or die;
        open(STDOUT, '>', "$dir/out") or die;
        open(STDERR, '>', "$dir/err") or die;
        exec { $llmr } $llmr, 'explain', '--json', '--models',
            "$dir/models.json", @args or POSIX::_exit(127);
    }
    waitpid($pid, 0);
    my $j = json_decode($t->read_file('out')) or return undef;
    return { tier => $j->{tier}, model => $j->{chosen}{model},
             reasons => [ @{ $j->{reasons} }, @{ $j->{policy_reasons} } ],
             est_cost => sprintf('%.6f', $j->{chosen}{est_cost}),
             input_tokens => $j->{input_tokens},
             output_tokens => $j->{output_tokens},
             score => sprintf('%.4f', $j->{score}),
             domain => $j->{domain} };
}

sub module {
    my ($body, %h) = @_;
    my $r = $t->http_post($translate ? '/llm/route-translated' : '/llm/route',
                          $body, %h);
    my $j = $r->{json} or return undef;
    return { tier => $j->{tier}, model => $j->{model},
             reasons => $j->{reasons},
             est_cost => sprintf('%.6f', $j->{est_cost}),
             input_tokens => $j->{input_tokens},
             output_tokens => $j->{output_tokens},
             score => sprintf('%.4f', $j->{score}),
             domain => $j->{domain} };
}

start_providers($t);
$t->run(router_conf(models => "    llm_models %%TESTDIR%%/models.json;\n",
                    http => "    llm_health fails=1 cooldown=60s;\n",
                    server => "        location = /llm/route-translated {\n"
                              . "            llm_route_explain;\n"
                              . "            llm_route_translate on;\n"
                              . "        }\n"));

my $hello = json_encode(chat_body('hello'));
my $vision = json_encode({ model => 'x', messages => [
    { role => 'user', content => [ { type => 'text', text => 'what is it?' },
      { type => 'image_url', image_url => { url => 'http://x/a.png' } } ] }
    ], tools => [ { type => 'function', function => { name => 'f' } } ] });
my $anthropic = json_encode({ model => 'x', max_tokens => 10,
    system => 'be brief',
    messages => [ { role => 'user', content => 'hello' } ] });
my $proof = json_encode(chat_body('Prove that there are infinitely many '
    . 'primes, then derive the asymptotic density of primes and explain '
    . 'the steps of the proof of the prime number theorem in detail.'));

my @cases = (
    [ 'a greeting', $hello, {}, [] ],
    [ 'vision and tools', $vision, {}, [] ],
    [ 'an Anthropic body', $anthropic, {}, [] ],
    [ 'a reasoning prompt', $proof, {}, [] ],
    [ 'X-LLM-Min-Tier', $hello, { 'X-LLM-Min-Tier' => 'complex' },
      [ '--min-tier', 'complex' ] ],
    [ 'X-LLM-Prefer', $hello,
      { 'X-LLM-Min-Tier' => 'complex', 'X-LLM-Prefer' => 'anthropic' },
      [ '--min-tier', 'complex', '--prefer', 'anthropic' ] ],
);

for my $tr (0, 1) {
    $translate = $tr;
    for my $c (@cases) {
        my ($name, $body, $h, $args) = @$c;
        $name .= ', translation on' if $translate;
        my $m = module($body, %$h);
        my $l = cli($body, @$args);
        ok($m && $l, "$name: both answer") or next;
        is_deeply($l, $m, "$name: the same decision ($m->{model} at "
                  . "$m->{tier})");
    }
}
$translate = 0;

# translated, the cheapest model of any API serves the greeting

$translate = 1;
my $x = module($hello);
is($x->{model}, 'claude', 'translation on: the Anthropic model serves an '
   . 'OpenAI greeting');
ok((grep { $_ eq 'translated' } @{ $x->{reasons} }), '  "translated"');
$translate = 0;

my $pref = module($hello, 'X-LLM-Min-Tier' => 'complex',
                  'X-LLM-Prefer' => 'anthropic');
ok((grep { $_ eq 'preferred_provider' } @{ $pref->{reasons} }),
   'the preference is among the reasons');

# a model the module saw fail: down there, --down for the CLI

my $r = $t->http_post('/v1/chat/completions', chat_body('hello'),
                      'X-Mock-Status' => 500);
is($r->{status}, 500, 'cheap-model fails once');
is($r->{headers}{'x-llm-model'}, 'cheap-model', '  it was cheap-model');

my $m;
ok(eventually(5, sub {
    $m = module($hello);
    $m && $m->{model} ne 'cheap-model';
}), 'the module routes around it');

my $l = cli($hello, '--down', 'cheap-model');
is_deeply($l, $m, "cheap-model down: the same decision ($m->{model} at "
          . "$m->{tier})");
ok((grep { $_ eq 'avoided_unhealthy' } @{ $m->{reasons} }),
   '  avoided_unhealthy among the reasons');
isnt(cli($hello)->{model}, $m->{model}, '  and healthy, the CLI would not');

$t->done_testing;
