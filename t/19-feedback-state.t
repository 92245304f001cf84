#!/usr/bin/perl

# llm_feedback_state: an instance without Redis keeps what it learned in
# a file.  A promotion is written by worker 0 on its timer, survives a
# full stop and start (sums, offset, routing), a reset is written too; a
# file that is not a learned state, or one that cannot be written, is
# logged and nginx runs with nothing learned; nginx -t refuses it with
# llm_redis, without a zone, and with a bad interval.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep);

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;


my $models = <<'EOF';
    llm_model cheap-model provider=openai upstream=cheap_pool tiers=trivial        input=0.15 output=0.60;
    llm_model mid-model   provider=openai upstream=mid_pool   tiers=simple-moderate input=3 output=15;
    llm_model big-model   provider=openai upstream=big_pool   tiers=complex-expert  input=15 output=75;
EOF

my $server = "        location = /llm/feedback { llm_feedback; }\n"
           . "        location = /llm/status { llm_status; }\n";

my $t = LLMRouter::Test->new->workers(2);
my $dir = $t->testdir;
my $state = "$dir/learned.state";

start_providers($t);

sub conf {
    my ($line) = @_;
    return router_conf(models => $models, server => $server,
                       http => 'llm_health off; llm_feedback_learn '
                               . 'min_samples=5 low=0.6 explore=0 '
                               . "implicit=off; $line");
}

sub hello {
    my ($x) = @_;
    return $x->http_post('/v1/chat/completions', chat_body('hello'));
}

sub poor_report {
    my ($x) = @_;
    my $id = hello($x)->{headers}{'x-llm-request-id'};
    my $r;
    # the decision is recorded in the log phase, right after the answer
    eventually(2, sub {
        $r = $x->http_post('/llm/feedback', { request_id => $id,
                                              quality => 0.1 });
        return $r->{status} != 404;
    });
    return $r;
}

sub bucket {
    my ($x) = @_;
    my $l = $x->http_get('/llm/feedback')->{json};
    my ($b) = grep { $_->{domain} eq 'general' && $_->{tier} eq 'trivial' }
              @{ $l->{buckets} };
    return ($b, $l);
}

sub file { -e $state ? $t->read_file('learned.state') : '' }

# nginx -t

my ($rc, $out) = $t->test_config(conf("llm_feedback_state $state;"));
is($rc, 0, 'nginx -t: llm_feedback_state') or diag($out);
like($out . $t->read_file('test_config.log'),
     qr/\[notice\].*llm_feedback_state: no ".*learned\.state" yet/,
     'nginx -t: no file yet is a notice');

for my $bad (
    [ "llm_feedback_state $state interval=10ms;",
      qr/invalid interval "interval=10ms" in "llm_feedback_state"/ ],
    [ "llm_feedback_state $state every=1s;",
      qr/invalid parameter "every=1s" in "llm_feedback_state"/ ],
    [ "llm_feedback_state $state; llm_feedback_state $state;",
      qr/"llm_feedback_state" directive is duplicate/ ],
    [ "llm_feedback_state $state; llm_redis 127.0.0.1:1;",
      qr/"llm_feedback_state" cannot be used with "llm_redis"/ ],
)
{
    ($rc, $out) = $t->test_config(conf($bad->[0]));
    ok($rc != 0 && $out =~ $bad->[1], "nginx -t refuses: $bad->[0]")
        or diag($out);
}

($rc, $out) = $t->test_config(router_conf(
    zone => '', models => $models, http => "llm_feedback_state $state;"));
ok($rc != 0 && $out =~ /"llm_feedback_state" requires "llm_router_zone"/,
   'nginx -t refuses it without llm_router_zone') or diag($out);

# a promotion is written on worker 0's timer

$t->run(conf("llm_feedback_state $state interval=1s;"));

is(hello($t)->{headers}{'x-llm-model'}, 'cheap-model', 'hello: cheap');
poor_report($t) for 1 .. 5;

ok(eventually(2, sub { hello($t)->{headers}{'x-llm-model'} eq 'mid-model' }),
   'after 5 poor reports greetings go one tier up');

ok(eventually(4, sub { file() =~ /^general trivial offset=1 weight=([\d.]+)/m
                       && $1 >= 5 }),
   'the promotion is in the file') or diag(file());
like(file(), qr/\A# ngx_llm_router learned state 1\n/, 'the header');
unlike(file(), qr/^(?!#|general trivial )/m,
       'only the bucket with evidence');
my @tmp = glob("$state.*");
is(scalar @tmp, 0, 'no temporary file left');

my $ls = $t->http_get('/llm/status')->{json}{learned_state};
is($ls->{file}, $state, 'llm_status: learned_state.file');
ok($ls->{saved} > time - 30 && $ls->{saved} <= time,
   'llm_status: learned_state.saved');
is($ls->{error}, undef, 'llm_status: no error');
my $prom = $t->http_get('/llm/status?format=prometheus')->{content};
like($prom, qr/^llm_router_learned_state_saved_timestamp_seconds \Q$ls->{saved}\E$/m,
     'prometheus: the time of the last write');
like($prom, qr/^llm_router_learned_state_error 0$/m, 'prometheus: no error');
{
    # ./build.sh test installs promtool (Debian: prometheus)
    my $promtool = `sh -c 'command -v promtool' 2>/dev/null`;
    chomp $promtool;
    ok($promtool, 'promtool is installed');
    $t->write_file('metrics.txt', $prom);
    my $out = `'$promtool' check metrics < '$dir/metrics.txt' 2>&1`;
    is($? >> 8, 0, 'promtool check metrics') or diag($out);
}

# a link planted under the temporary file's name is not followed

$t->write_file('victim', "precious\n");
symlink("$dir/victim", "$state.$_.tmp") or die "symlink: $!\n"
    for $t->worker_pids;
my $before = file();
poor_report($t);
ok(eventually(4, sub { file() ne $before && file() =~ /^general trivial /m }),
   'the next report is written') or diag(file());
is($t->read_file('victim'), "precious\n", 'through no planted link');
ok(!-l $state, 'the file is a file');

# a respawned worker 0, and the new one of a reload, write the zone's
# state at their first tick, whatever the file holds

unlink $state;
is($t->kill_workers, 2, 'both workers killed');
ok(eventually(4, sub { file() =~ /^general trivial offset=1 /m }),
   'written again by a respawned worker 0');
unlink $state;
ok($t->reload, 'reload');
ok(eventually(4, sub { file() =~ /^general trivial offset=1 /m }),
   'written again after a reload');

# a full stop and start: the state comes back

$t->stop;
$t->run;

my ($b) = bucket($t);
ok($b, 'after a restart the bucket is listed');
is($b && $b->{offset}, 1, 'offset 1 after the restart');
ok($b && $b->{served}{trivial}{samples} >= 5
   && $b->{served}{trivial}{quality} < 0.6,
   'its samples and quality after the restart');
my $r = hello($t);
is($r->{headers}{'x-llm-model'}, 'mid-model', 'greetings still go up');
like($r->{headers}{'x-llm-reason'}, qr/learned_up/, 'reason learned_up');
like($t->read_file('error.log'),
     qr/\[notice\].*llm_feedback_state: 1 buckets loaded from ".*learned\.state"/,
     'the load is logged at notice');

# a reset forgets the sums as well as the offset, and is written

$r = $t->http_request('DELETE', '/llm/feedback',
                      headers => { 'X-LLM-Confirm' => 'reset' });
is($r->{status}, 200, 'DELETE with confirmation');
my $list;
($b, $list) = bucket($t);
ok(!$b, 'the bucket is gone after the reset');
is(scalar @{ $list->{buckets} }, 0, 'no bucket listed');
poor_report($t);
is(hello($t)->{headers}{'x-llm-model'}, 'cheap-model',
   'one poor report after the reset promotes nothing');
ok(eventually(4, sub { file() =~ /\A# ngx_llm_router learned state 1\n(general trivial offset=0 weight=0,0,0,0,0 quality=0,0,0,0,0\n|)\z/
                       || file() =~ /^general trivial offset=0 weight=([\d.]+)/m
                          && $1 < 2 }),
   'the file holds what is left after the reset') or diag(file());

# a graceful stop writes what the timer has not

$t->stop;
$t->run(conf("llm_feedback_state $state interval=1h;"));
poor_report($t) for 1 .. 5;
ok(eventually(2, sub { hello($t)->{headers}{'x-llm-model'} eq 'mid-model' }),
   'promoted again');
unlike(file(), qr/^general trivial offset=1/m, 'not written yet (1h)');
$t->stop;
like(file(), qr/^general trivial offset=1 /m, 'written as nginx stopped');

# a file that is not a learned state: logged, nothing learned, replaced

$t->write_file('learned.state', "general trivial offset=1\n");
$t->run;
is(hello($t)->{headers}{'x-llm-model'}, 'cheap-model',
   'a bad file: nothing learned');
like($t->read_file('error.log'),
     qr/\[error\].*llm_feedback_state: ".*learned\.state": line 1: not a learned state.*starting with nothing learned/,
     'a bad file is logged at error, with the line');
$ls = $t->http_get('/llm/status')->{json}{learned_state};
like($ls->{error} // '',
     qr/^not loaded: ".*learned\.state": line 1: not a learned state/,
     'llm_status: why the file was not loaded');
is($ls->{saved}, 0, 'llm_status: not saved yet');
$t->stop;

$t->write_file('learned.state', "# ngx_llm_router learned state 1\n"
                                . "general trivial offset=1 weight=9,0,0,0,0 "
                                . "quality=99,0,0,0,0\n");
$t->run;
is(hello($t)->{headers}{'x-llm-model'}, 'cheap-model',
   'a quality sum over its weight: nothing learned');
like($t->read_file('error.log'),
     qr/\[error\].*line 2: a quality sum is over its weight/,
     'logged with the line');
$t->stop;

# an offset past this configuration's max_offset (2) is brought within it

$t->write_file('learned.state', "# ngx_llm_router learned state 1\n"
                                . "general trivial offset=4 weight=0,0,0,0,0 "
                                . "quality=0,0,0,0,0\n");
$t->run;
($b) = bucket($t);
is($b && $b->{offset}, 2, 'offset 4 loaded as 2 (max_offset)');
is(hello($t)->{headers}{'x-llm-model'}, 'mid-model', 'and routed so');
$t->stop;

# a file that cannot be written: logged, requests unaffected

$t->run(conf("llm_feedback_state $dir/no/such/dir/learned.state "
             . "interval=1s;"));
poor_report($t) for 1 .. 5;
ok(eventually(2, sub { hello($t)->{headers}{'x-llm-model'} eq 'mid-model' }),
   'learning goes on where the file cannot be written');
ok(eventually(4, sub {
    $t->read_file('error.log')
        =~ /\[error\].*llm_feedback_state: open\(\) ".*no\/such\/dir\/learned\.state\.\d+\.tmp" failed.*what was learned is not saved/;
}), 'a file that cannot be written is logged at error');
like($t->http_get('/llm/status')->{json}{learned_state}{error} // '',
     qr/^not saved: open\(\) ".*no\/such\/dir\/learned\.state\.\d+\.tmp" failed \(2: No such file or directory\)$/,
     'llm_status: why the file is not saved');
like($t->http_get('/llm/status?format=prometheus')->{content},
     qr/^llm_router_learned_state_error 1$/m, 'prometheus: the error');

$t->stop;

done_testing();
