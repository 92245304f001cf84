#!/usr/bin/perl

# llm_classifier_model: a model file loaded by nginx scores exactly as
# `llmr classify --model` does (one implementation); a damaged file is an
# nginx -t error naming the directive.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IPC::Open2;
use Test::More;

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;

my $repo = "$FindBin::Bin/..";
my $model = "$repo/core/model/default.model";
my $llmr = "$repo/build/llmr";

ok(-f $model, 'the default model file is in the tree');

my $t = LLMRouter::Test->new;
start_providers($t);
# an Anthropic model too: the last body speaks Anthropic's API
$t->run(router_conf(http => "llm_classifier_model $model;",
    models => $LLMRouter::Setup::MODELS
              . "    llm_model claude provider=anthropic upstream=big_pool "
              . "tiers=trivial-expert input=1 output=5;\n"));

my @bodies = (
    LLMRouter::Test::json_encode(chat_body('hello there!')),
    LLMRouter::Test::json_encode(chat_body('A shop sells apples at $2 each '
        . 'and pears at $3 each. Tom buys 4 apples and some pears for $17. '
        . 'How many pears did he buy?')),
    LLMRouter::Test::json_encode(chat_body('Design a multi-region event '
        . 'sourced ledger with exactly-once semantics and explain the '
        . 'trade-offs.')),
    LLMRouter::Test::json_encode({ model => 'x', max_tokens => 100,
        system => 'You are terse.', messages => [ { role => 'user',
        content => [ { type => 'text', text => 'Which of these is a '
        . 'noble gas? A) oxygen B) argon C) nitrogen D) hydrogen' } ] } ] }),
);

my $pid = open2(my $out, my $in, $llmr, 'classify', '--model', $model);
print $in "$_\n" for @bodies;
close $in;
my @cli = map { LLMRouter::Test::json_decode($_) } <$out>;
waitpid($pid, 0);
is($? >> 8, 0, 'llmr classify --model ran');
is(scalar(@cli), scalar(@bodies), 'one decision a body');

for my $i (0 .. $#bodies) {
    my $r = $t->http_post('/llm/route', $bodies[$i]);
    is(sprintf('%.4f', $r->{json}{score}), sprintf('%.4f', $cli[$i]{score}),
       "body $i: the module and llmr agree on the score");
    is($r->{json}{tier}, $cli[$i]{tier}, "body $i: and on the tier");
}

# the built-in model (no directive) is the same file, compiled in

my $t2 = LLMRouter::Test->new;
start_providers($t2);
$t2->run(router_conf());
my $r = $t2->http_post('/llm/route', $bodies[1]);
is(sprintf('%.4f', $r->{json}{score}), sprintf('%.4f', $cli[1]{score}),
   'the built-in model scores as the file does');
$t2->stop;

# a damaged model is refused at nginx -t

my $text = $t->read_file($model);
# (the first dense weight: every model has one, not every model has
# hashed-gram lines)
(my $bad = $text) =~ s/^(d \d+ )(-?[\d.]+)/${1}9.5/m;
isnt($bad, $text, 'a weight was edited');
$t->write_file('edited.model', $bad);
my ($rc, $msg) = $t->test_config(router_conf(
    http => 'llm_classifier_model %%TESTDIR%%/edited.model;'));
isnt($rc, 0, 'an edited model is refused');
like($msg, qr/llm_classifier_model ".*edited\.model": .*checksum/i,
     'the message names the directive and the checksum');

$t->write_file('truncated.model', substr($text, 0, length($text) / 2));
($rc, $msg) = $t->test_config(router_conf(
    http => 'llm_classifier_model %%TESTDIR%%/truncated.model;'));
isnt($rc, 0, 'a truncated model is refused');

($rc, $msg) = $t->test_config(router_conf(
    http => 'llm_classifier_model %%TESTDIR%%/missing.model;'));
like($msg, qr/llm_classifier_model ".*missing\.model"/, 'a missing file');

$t->done_testing;
