#!/usr/bin/perl

# nginx -s reload: a new registry takes effect, old workers exit promptly,
# a refused configuration keeps the running one, nothing is logged above
# notice.

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
$t->run(router_conf());

my $r = $t->http_post('/v1/chat/completions', chat_body('hello'));
is($r->{headers}{'x-llm-model'}, 'cheap-model', 'before: cheap');

# the cheap model leaves; the mid model now covers trivial too

my $models = <<'EOF';
    llm_model mid-model   provider=openai    upstream=mid_pool   tiers=trivial-complex input=3  output=15 context=200000 caps=vision,tools;
    llm_model big-model   provider=anthropic upstream=big_pool   tiers=complex-expert  input=15 output=75 context=200000 caps=vision,tools id=claude-big;
EOF

my @old = $t->worker_pids;
ok($t->reload(router_conf(models => $models)), 'reload accepted');
ok($t->pids_gone(\@old, 10), 'old workers exited');

$r = $t->http_post('/v1/chat/completions', chat_body('hello'));
is($r->{status}, 200, 'after: 200');
is($r->{headers}{'x-llm-model'}, 'mid-model', 'after: the new registry');
is($r->{headers}{'x-mock-model'}, 'mid-model', 'after: rewritten for it');

# a bad configuration is refused and the running one keeps serving

@old = $t->worker_pids;
$t->allow_log(qr/invalid tiers "nope"/);
ok(!$t->reload(router_conf(models => $models . "    llm_model x "
                           . "provider=openai upstream=mid_pool tiers=nope;\n")),
   'bad reload refused');
$r = $t->http_post('/v1/chat/completions', chat_body('hello'));
is($r->{headers}{'x-llm-model'}, 'mid-model', 'still the last good registry');
is_deeply([ sort $t->worker_pids ], [ sort @old ], 'same workers');

# reload under load: every request is answered

my @pids;
for my $k (1 .. 4) {
    my $pid = fork() // die;
    if ($pid == 0) {
        my $bad = 0;
        for (1 .. 40) {
            my $x = $t->http_post('/v1/chat/completions', chat_body("q $_"));
            $bad++ unless $x->{status} == 200;
        }
        POSIX::_exit($bad ? 1 : 0);
    }
    push @pids, $pid;
}

for (1 .. 3) {
    $t->reload(router_conf(models => $_ % 2 ? $LLMRouter::Setup::MODELS
                                            : $models));
}

my $failed = 0;
for (@pids) {
    waitpid($_, 0);
    $failed++ if $?;
}
is($failed, 0, 'no request failed across reloads');

$t->done_testing;
