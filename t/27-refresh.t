#!/usr/bin/perl

# examples/llm-refresh.sh, the scheduled refresh of the calibrated
# registry, against a running nginx: a calibration that passes nginx -t is
# swapped in and reloaded (the previous files kept, the changes logged);
# one that fails to calibrate, or that nginx -t refuses, leaves the running
# configuration and its files untouched.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;

my $repo = "$FindBin::Bin/..";
my $t = LLMRouter::Test->new->workers(1);
my $d = $t->testdir;
my $conf = "$d/conf/llm";

start_providers($t);

# the registry nginx loads starts as a hand-written one

mkdir "$d/conf";
mkdir $conf;
$t->write_file('conf/llm/models.json', <<'EOF');
{"models": [{"name": "hand-model", "provider": "openai",
  "upstream": "cheap_pool", "tiers": "trivial-expert", "input": 1,
  "output": 1}]}
EOF

$t->run(router_conf(models => "    llm_models $conf/models.json;\n",
    server => 'location = /llm/status { llm_status; }'));

# the script's nginx: this test's, by its prefix and configuration; its
# nginx -t logs elsewhere than error.log (whose [emerg] lines fail a test)

(my $tconf = $t->read_file('nginx.conf')) =~ s{\Q$d\E/error\.log}{$d/refresh.log}g;
$t->write_file('nginx-refresh.conf', $tconf);
my @test = map { $_ eq 'error.log' ? 'refresh.log' : $_ }
    $t->_nginx_cmd('nginx-refresh.conf');
my @signal = $t->_nginx_cmd('nginx.conf');
# (an instrumented module needs its sanitizer runtime preloaded, as the
# harness does for the nginx it starts)
my $preload = $ENV{TEST_NGINX_PRELOAD}
    ? "LD_PRELOAD=$ENV{TEST_NGINX_PRELOAD}; export LD_PRELOAD\n" : '';
$t->write_file('nginx-cmd', "#!/bin/sh\n" . $preload
    . "if [ \"\$1\" = -t ]; then exec @test \"\$@\"; fi\n"
    . "exec @signal \"\$@\"\n");
chmod 0755, "$d/nginx-cmd";

sub refresh {
    my (@args) = @_;
    local $ENV{LLM_CONF_DIR} = $conf;
    local $ENV{LLMR} = "$repo/build/llmr";
    local $ENV{NGINX_BIN} = "$d/nginx-cmd";
    local $ENV{SOURCE_DATE_EPOCH} = 1796601600;
    my $out = `sh $repo/examples/llm-refresh.sh @args 2>&1`;
    return ($? >> 8, $out);
}

# the model a greeting is routed to
sub routed {
    return $t->http_post('/v1/chat/completions',
                         chat_body('hello there'))->{headers}{'x-llm-model'}
           // '';
}

my @cal = ('--input', "$repo/examples/aa-models-snapshot.json",
           '--providers', 'openai,anthropic',
           '--upstream-map', 'openai=cheap_pool,anthropic=big_pool');

is(routed(), 'hand-model', 'the hand-written registry is running');

# a calibration that passes: swapped in, reloaded, the old one kept

my @old = $t->worker_pids;
my ($rc, $out) = refresh(@cal);
is($rc, 0, 'a good refresh: exit 0') or diag $out;
like($out, qr/changes:/, 'the changelog entry is logged');
like($out, qr/reloaded with the new registry; the previous one is \Q$conf\E\.prev-/,
     'reloaded, the previous files kept');
ok(eventually(5, sub { routed() =~ /^gpt|^o\d/ }),
   'requests go to the calibrated models: ' . routed());
# the workers of the old configuration drain before the running model is
# taken (one of them may still accept a connection until it is told)
ok($t->pids_gone(\@old, 10), 'the old workers are gone');
my @prev = glob("$conf.prev-*");
is(scalar(@prev), 1, 'one previous version');
like($t->read_file("$prev[0]/models.json") // '', qr/hand-model/,
     'which holds the old registry');
my $running = routed();

# the same data again: nothing to do

($rc, $out) = refresh(@cal);
is($rc, 0, 'unchanged: exit 0');
like($out, qr/unchanged: no reload/, 'no reload');

# a calibration that fails: nothing changed

my $before = $t->read_file("$conf/models.json");
$t->write_file('broken.json', '{"data": [');
($rc, $out) = refresh('--input', "$d/broken.json");
is($rc, 1, 'calibrate fails: exit 1');
like($out, qr/llmr calibrate failed: nothing changed/, 'said');
is($t->read_file("$conf/models.json"), $before, 'the files untouched');
ok(!-e "$conf.new", 'no staging left behind');

# a calibration nginx -t refuses (an upstream that is not defined): the
# previous files go back, nginx is not reloaded

($rc, $out) = refresh('--input', "$repo/examples/aa-models-snapshot.json",
    '--providers', 'openai', '--upstream-map', 'openai=nosuch_pool',
    '--no-cache');
is($rc, 1, 'nginx -t refuses: exit 1');
like($out, qr/nginx -t refused the new registry; putting the previous one back/,
     'said');
like($out, qr/nosuch_pool/, 'with nginx\'s reason');
is($t->read_file("$conf/models.json"), $before, 'the previous files are back');
like($t->read_file("$conf.failed/models.json") // '', qr/nosuch_pool/,
     'the refused ones kept aside');
is(routed(), $running, 'the running configuration is unchanged');

my ($trc) = $t->test_config;
is($trc, 0, 'and the configuration on disk still passes nginx -t');

$t->stop;

done_testing();
