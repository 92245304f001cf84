#!/usr/bin/perl

# llmr calibrate-thresholds --bodies on what nginx itself logged: the
# same requests through the module, logged with "$request_body" as the
# last quoted field with escape=default and escape=json, and the bodies
# as sent (one a line): the three give the same thresholds, the shares
# asked, the scores of llmr classify; lines without a body, junk and a
# line over 4 MB are counted and skipped.  Then llmr train --lobo on
# three small sources: one row a file, the worst and the mean.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IPC::Open2;
use POSIX ();
use Test::More;

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;

my $repo = $LLMRouter::Test::REPO;
my $llmr = "$repo/build/llmr";

plan skip_all => "no $llmr (./build.sh)" unless -x $llmr;

my $t = LLMRouter::Test->new;
my $dir = $t->testdir;

# llmr(@args): (exit code, stdout, stderr)
sub llmr {
    my (@args) = @_;
    my ($out, $err) = ("$dir/llmr.out", "$dir/llmr.err");

    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        open(STDOUT, '>', $out) or POSIX::_exit(126);
        open(STDERR, '>', $err) or POSIX::_exit(126);
        exec { $llmr } $llmr, @args or POSIX::_exit(127);
    }

    waitpid($pid, 0);
    return ($? >> 8, $t->read_file($out), $t->read_file($err));
}

# the prompts: everyday tasks, and what the log escapes
my @prompts;
open(my $fh, '<', "$repo/eval/prompts/self_instruct.jsonl") or die $!;
while (my $l = <$fh>) {
    push @prompts, LLMRouter::Test::json_decode($l)->{prompt};
    last if @prompts == 97;
}
close $fh;
push @prompts,
    "Quote \"this\", a back\\slash, a tab\tand a\nnew line, \\x22 as text",
    "Caf\x{e9}, \x{65e5}\x{672c}\x{8a9e} and an emoji \x{1F600}: translate",
    "{\"model\":\"x\"} is JSON; explain what \\u00e9 means in it";
my $n = @prompts;

my @bodies = map { LLMRouter::Test::json_encode(chat_body($_)) } @prompts;
$t->write_file('raw.jsonl', join('', map { "$_\n" } @bodies));

SKIP: {
    skip 'the module is not built (./build.sh)', 14 unless $t->has_module;

    start_providers($t);
    $t->run(router_conf(
        http => <<'EOF',
    log_format llm_bodies '$remote_addr [$time_local] "$request" $status '
                          '"$request_body" $request_time';
    log_format llm_json escape=json '{"time":"$time_iso8601",'
                                    '"status":"$status",'
                                    '"body":"$request_body"}';
    client_body_buffer_size 1m;
EOF
        location => <<'EOF'));
            access_log %%TESTDIR%%/default.log llm_bodies;
            access_log %%TESTDIR%%/json.log llm_json;
EOF

    my $served = 0;
    for my $b (@bodies) {
        my $r = $t->http_post('/v1/chat/completions', $b);
        $served++ if $r->{status} == 200;
    }
    is($served, $n, "$n requests served");

    # requests without a body: "-" (escape=default), "" (escape=json)
    $t->http_get('/v1/models') for 1 .. 3;
    $t->stop;

    my (%out, %err);
    for my $f (qw(raw.jsonl default.log json.log)) {
        my ($rc, $out, $err) = llmr('calibrate-thresholds', '--bodies',
            "$dir/$f", '--shares', '0.15,0.35,0.25,0.15,0.10');
        is($rc, 0, "$f: calibrated") or diag($err);
        ($out{$f}, $err{$f}) = ($out, $err);
    }

    like($err{'raw.jsonl'}, qr/: $n lines, $n bodies \($n JSON, 0 logged\); skipped 0:/,
         'the bodies as sent: every line a JSON body');
    like($err{'default.log'}, qr/: @{[$n + 3]} lines, $n bodies \(0 JSON, $n logged\); skipped 3: 3 without a body, 0 unreadable/,
         'escape=default: every request logged, GETs without a body');
    like($err{'json.log'}, qr/: @{[$n + 3]} lines, $n bodies \(0 JSON, $n logged\); skipped 3: 3 without a body, 0 unreadable/,
         'escape=json: the same');
    is($out{'default.log'}, $out{'raw.jsonl'},
       'escape=default: the thresholds and shares of the bodies as sent');
    is($out{'json.log'}, $out{'raw.jsonl'}, 'escape=json: the same');

    # all three, junk, a JSON object that is no body, a 4 MB + 1 line
    $t->write_file('mix.log', $t->read_file('raw.jsonl')
        . $t->read_file('default.log') . "junk\n{\"not\":\"a body\"}\n"
        . ('x' x (4 * 1024 * 1024 + 1)) . "\n"
        . $t->read_file('json.log'));

    my ($rc, $out, $err) = llmr('calibrate-thresholds', '--bodies',
        "$dir/mix.log", '--shares', '0.15,0.35,0.25,0.15,0.10', '--out',
        "$dir/mix.model");
    is($rc, 0, 'the mix: calibrated') or diag($err);

    my $lines = 3 * $n + 6 + 3;
    my $all = 3 * $n;
    like($err, qr/: $lines lines, $all bodies \($n JSON, @{[2 * $n]} logged\); skipped 9: 7 without a body, 1 unreadable, 1 over 4194304 bytes/,
         'the mix: each kind of line counted, the bad ones skipped');

    my ($th) = $out =~ /^thresholds (\S+)$/m;
    my @got = $out =~ /^shares trivial ([\d.]+)% simple ([\d.]+)% moderate ([\d.]+)% complex ([\d.]+)% expert ([\d.]+)% \(of $all scores\)$/m;
    my @want = (15, 35, 25, 15, 10);
    ok(@got == 5 && !grep({ abs($got[$_] - $want[$_]) > 2 } 0 .. 4),
       "the shares asked, within 2 points (@got)");

    like($t->read_file('mix.model'), qr/^llmr-model .* thresholds=\Q$th\E /,
         '--out: the model has the thresholds');

    # the thresholds are the quantiles of what llmr classify scores
    my $pid = open2(my $cout, my $cin, $llmr, 'classify');
    print $cin "$_\n" for @bodies;
    close $cin;
    my @s = sort { $a <=> $b }
            map { LLMRouter::Test::json_decode($_)->{score} } <$cout>;
    waitpid($pid, 0);

    my ($cum, @q) = (0);
    for my $share (0.15, 0.35, 0.25, 0.15) {
        $cum += $share;
        my $k = int($cum * @s + 0.5);
        push @q, $s[$k < @s ? $k : $#s];
    }
    my @th = split /,/, $th // '';
    ok(@th == 4 && !grep({ abs($th[$_] - $q[$_]) > 1e-4 } 0 .. 3),
       "the quantiles of llmr classify's scores (@q; $th)");
}

# what is refused

my ($rc, $out, $err) = llmr('calibrate-thresholds', '--bodies',
    "$dir/raw.jsonl", '--quality', '0.95');
is($rc, 2, '--quality with --bodies: refused');
like($err, qr/--quality needs each prompt's outcomes/, 'saying why');

($rc, $out, $err) = llmr('calibrate-thresholds', '--bodies',
    "$dir/raw.jsonl", '--data', "$dir/raw.jsonl");
is($rc, 2, '--data and --bodies: refused');

$t->write_file('junk.log', "junk\n\n1.2.3.4 \"GET /\" 200 \"-\"\n");
($rc, $out, $err) = llmr('calibrate-thresholds', '--bodies',
    "$dir/raw.jsonl,$dir/junk.log");
is($rc, 1, 'a file without a body: an error');
like($err, qr/junk\.log: 2 lines, 0 bodies .*\n.*junk\.log: no request body/,
     'naming it, with its counts');

# llmr train --lobo: a source is a file

my $k = 0;
for my $src (qw(alpha beta gamma)) {
    my $data = '';
    for my $i (0 .. 29) {
        my $hard = $i % 2;
        my $p = $hard
            ? "A tank in $src holds " . (100 + $i) . " liters and leaks 3 "
              . "liters an hour while 5 flow in; how full is it after 9 "
              . "hours, and when is it empty?"
            : "What is the capital of $src number $i?";
        $data .= LLMRouter::Test::json_encode({ prompt => $p,
            strong => 1, weak => $hard ? 0 : 1 }) . "\n";
    }
    $t->write_file("$src.jsonl", $data);
}

($rc, $out, $err) = llmr('train', '--data',
    join(',', map { "$dir/$_.jsonl" } qw(alpha beta gamma)), '--lobo',
    '--bits', '10', '--epochs', '3');
is($rc, 0, 'llmr train --lobo') or diag($err);

my %apgr = $out =~ /^(alpha|beta|gamma)\s+30\s+([\d.-]+)$/mg;
is(scalar(keys %apgr), 3, 'one row a file, 30 examples each');
my ($worst) = $out =~ /^worst\s+([\d.-]+)$/m;
my ($mean) = $out =~ /^mean\s+([\d.-]+)$/m;
my @v = sort { $a <=> $b } values %apgr;
ok(defined $worst && $worst == $v[0], "the worst is the lowest ($worst)");
ok(defined $mean && abs($mean - ($v[0] + $v[1] + $v[2]) / 3) < 0.001,
   "the mean is theirs ($mean)");
ok(!grep({ $_ <= 0.5 } @v), "each file left out is routed better than "
   . "at random (@v)");

($rc, $out, $err) = llmr('train', '--data', "$dir/alpha.jsonl", '--lobo');
is($rc, 2, '--lobo with one file: refused');
like($err, qr/--lobo needs two --data files/, 'saying why');

done_testing();
