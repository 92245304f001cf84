#!/usr/bin/perl

# llmr calibrate end to end: the shipped Artificial Analysis snapshot ->
# models.json, the llm_model include, MODELS.md and CHANGELOG.md -> nginx -t
# -> a running nginx that routes with the generated registry; then the
# fetch path against a local mock of the API (200, 401, 500, malformed
# JSON, a slow server, the 6-hour cache).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;

my $t = LLMRouter::Test->new;
my $repo = $LLMRouter::Test::REPO;
my $llmr = "$repo/build/llmr";
my $snapshot = "$repo/examples/aa-models-snapshot.json";
my $overrides = "$repo/examples/calibration-overrides.json";
my $dir = $t->testdir;

plan skip_all => "$llmr is not built" unless -x $llmr;

# llmr(\%env, @args): (exit code, stdout, stderr); AA_* come from %env only
sub llmr {
    my ($env, @args) = @_;
    my ($out, $err) = ("$dir/llmr.out", "$dir/llmr.err");

    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        delete @ENV{qw(AA_API_KEY AA_API_URL)};
        $ENV{$_} = $env->{$_} for keys %$env;
        open(STDOUT, '>', $out) or POSIX::_exit(126);
        open(STDERR, '>', $err) or POSIX::_exit(126);
        exec { $llmr } $llmr, 'calibrate', @args
            or POSIX::_exit(127);
    }

    waitpid($pid, 0);
    return ($? >> 8, $t->read_file($out), $t->read_file($err));
}

sub models_of {
    my ($path) = @_;
    return json_decode($t->read_file($path));
}

###########################################################################
# the snapshot, saved

my ($rc, $out, $err) = llmr({}, '--input', $snapshot, '--overrides',
                             $overrides, '--save', '--out', "$dir/cal");
is($rc, 0, 'calibrate --save exits 0') or diag($err);
like($out, qr/^wrote \Q$dir\E\/cal\/models\.json$/m, 'it says what it wrote');

for my $f (qw(models.json llm_models.conf MODELS.md CHANGELOG.md)) {
    ok(-s "$dir/cal/$f", "$f written");
}

ok(!glob("$dir/cal/.aa-cache-*"), 'no cache file for --input');

my $doc = models_of("$dir/cal/models.json");
my @models = @{ $doc->{models} };
ok(@models >= 10 && @models <= 64, scalar(@models) . ' models written');
is($doc->{thresholds}{method}, 'percentile', 'thresholds recorded');

my %by_name = map { $_->{name} => $_ } @models;
my %upstreams = map { $_->{upstream} => 1 } @models;
my @tiers = qw(trivial simple moderate complex expert);
my %tier_no = map { $tiers[$_] => $_ } 0 .. $#tiers;

sub range_of {
    my ($m) = @_;
    my ($lo, $hi) = split /-/, $m->{tiers};
    $hi //= $lo;
    return ($tier_no{$lo}, $tier_no{$hi});
}

for my $tier (@tiers) {
    my $n = grep { my ($lo, $hi) = range_of($_);
                   $lo <= $tier_no{$tier} && $tier_no{$tier} <= $hi } @models;
    ok($n > 0, "tier $tier has $n models");
}

ok(!(grep { !defined $_->{intelligence} } @models),
   'every model carries its intelligence index');
ok(!$by_name{'claude-4-opus'}, 'an excluded model is not written');
ok(!$by_name{'gemma-3n-e4b'}, 'a model without an index is skipped');
is($by_name{'gpt-4o-mini'}{id}, 'gpt-4o-mini', 'provider id from overrides');
is_deeply($by_name{'gpt-4o-mini'}{caps}, [qw(vision tools json)],
          'caps from overrides');
like($by_name{'llama-4-maverick'}{upstream}, qr/^meta_pool$/,
     'default upstream name PROVIDER_pool');

my $md = $t->read_file("$dir/cal/MODELS.md");
like($md, qr/^## Thresholds/m, 'MODELS.md: thresholds');
like($md, qr/^### `gpt-4o-mini`$/m, 'MODELS.md: a section per model');
like($md, qr/^\| Gemma 3n E4B Instruct \| no intelligence index \|$/m,
     'MODELS.md: skipped entries and why');
like($md, qr/^- balanced: /m, 'MODELS.md: profile orders');

my $include = $t->read_file("$dir/cal/llm_models.conf");
my @lines = $include =~ /^(llm_model .*;)$/mg;
is(scalar @lines, scalar @models, 'one llm_model line a model');
like($include, qr/^#   upstream openai_pool \{ server \.\.\.; \}$/m,
     'the include lists the upstream blocks it needs');

my $log = $t->read_file("$dir/cal/CHANGELOG.md");
like($log, qr/^First calibration\.$/m, 'CHANGELOG.md: first entry');

###########################################################################
# nginx -t accepts the generated files

my %mock_port = map { $_ => $t->port("up:$_") } sort keys %upstreams;
my $blocks = join '', map { "    upstream $_ { server 127.0.0.1:$mock_port{$_}; }\n" }
                      sort keys %upstreams;

my ($trc, $tout) = $t->test_config(router_conf(
    models => "    llm_models $dir/cal/models.json;\n", http => $blocks));
is($trc, 0, 'nginx -t accepts llm_models with the generated models.json')
    or diag($tout);

($trc, $tout) = $t->test_config(router_conf(
    models => "    include $dir/cal/llm_models.conf;\n", http => $blocks));
is($trc, 0, 'nginx -t accepts the generated llm_model include')
    or diag($tout);

my ($first) = sort keys %upstreams;
(my $fewer = $blocks) =~ s/^    upstream \Q$first\E .*\n//m;
($trc, $tout) = $t->test_config(router_conf(
    models => "    include $dir/cal/llm_models.conf;\n", http => $fewer));
isnt($trc, 0, 'without one of the upstream blocks nginx -t refuses');
like($tout, qr/upstream "\Q$first\E" is not defined/, '  and names it');

###########################################################################
# a running nginx routes with the generated registry

start_mock($t, name => $_, port => $mock_port{$_}) for sort keys %upstreams;

$t->run(router_conf(models => "    llm_models $dir/cal/models.json;\n",
                    http => $blocks));

# the cheapest model serving the tier, as the default profile picks it
sub expected_model {
    my ($tier, $in, $outt, $need) = @_;
    my ($best, $cost);
    for my $m (@models) {
        my ($lo, $hi) = range_of($m);
        next unless $lo <= $tier_no{$tier} && $tier_no{$tier} <= $hi;
        my %caps = map { $_ => 1 } @{ $m->{caps} // [] };
        next if grep { !$caps{$_} } @$need;
        my $c = $in * $m->{input} + $outt * $m->{output};
        ($best, $cost) = ($m, $c) if !defined $best || $c < $cost;
    }
    return $best;
}

my @prompts = (
    [ 'greeting', 'hello there!' ],
    [ 'explanation', 'Explain how a bloom filter works and when it is a '
      . 'better choice than a hash set.' ],
    [ 'design', 'Design a distributed, multi-region event-sourcing '
      . 'architecture for a payments platform with exactly-once semantics. '
      . 'Compare the consistency models, explain the trade-offs between '
      . 'availability and latency, and propose a migration plan from the '
      . 'current monolith, step by step, with failure modes and how to test '
      . 'each one.' ],
);

my %seen_tier;

for my $p (@prompts) {
    my ($label, $text) = @$p;
    my $body = chat_body($text);

    my $e = $t->http_post('/llm/route', $body);
    is($e->{status}, 200, "$label: explained");
    my $x = $e->{json} // {};
    my $want = expected_model($x->{tier}, $x->{input_tokens},
                              $x->{output_tokens}, []);
    ok($want, "$label: some model serves tier $x->{tier}");
    is($x->{model}, $want && $want->{name},
       "$label: the cheapest model of tier $x->{tier}");

    my $r = $t->http_post('/v1/chat/completions', $body);
    is($r->{status}, 200, "$label: proxied");
    is($r->{headers}{'x-llm-model'}, $x->{model}, "$label: same model");
    my $m = $by_name{ $r->{headers}{'x-llm-model'} // '' } // {};
    is($r->{headers}{'x-mock-name'}, $m->{upstream},
       "$label: reached the model's upstream $m->{upstream}");
    is($r->{headers}{'x-mock-model'}, $m->{id} // $m->{name},
       "$label: the provider got the model id");
    $seen_tier{ $r->{headers}{'x-llm-tier'} // '' } = 1;
}

ok(keys %seen_tier >= 2, 'requests landed in ' . join(', ', sort keys %seen_tier));

# a picture needs a vision model: caps come from the overrides

my $img = { model => 'auto', messages => [ { role => 'user', content => [
    { type => 'text', text => 'what is in this picture?' },
    { type => 'image_url', image_url => { url => 'data:image/png;base64,AA' } },
] } ] };
my $r = $t->http_post('/v1/chat/completions', $img);
is($r->{status}, 200, 'image: proxied');
my $vm = $by_name{ $r->{headers}{'x-llm-model'} // '' } // {};
ok((grep { $_ eq 'vision' } @{ $vm->{caps} // [] }),
   "image: routed to a vision model ($vm->{name})");

$t->stop;

###########################################################################
# a second run: changes since the previous one

my $snap = json_decode($t->read_file($snapshot));
my @data = grep { $_->{slug} ne 'deepseek-v3-0324' } @{ $snap->{data} };
for my $e (@data) {
    if ($e->{slug} eq 'gpt-4o-mini') {
        $e->{pricing}{price_1m_input_tokens} = 0.3;
        $e->{pricing}{price_1m_blended_3_to_1} = (3 * 0.3 + 0.6) / 4;
    }
}
push @data, { %{ $data[0] }, id => 'x', name => 'Test Model X',
              slug => 'test-model-x' };
$snap->{data} = \@data;
$t->write_file('aa-second.json', json_encode($snap));

($rc, $out, $err) = llmr({}, '--input', "$dir/aa-second.json", '--overrides',
                         $overrides, '--out', "$dir/cal");
is($rc, 0, 'a dry run against the previous output') or diag($err);
like($out, qr/^dry run: nothing written/m, 'dry run: says so');
like($out, qr/^changes against \Q$dir\E\/cal\/models\.json:/m,
     'dry run: shows the changes it would log');
is($t->read_file("$dir/cal/CHANGELOG.md"), $log, 'dry run: wrote nothing');

($rc, $out, $err) = llmr({}, '--input', "$dir/aa-second.json", '--overrides',
                         $overrides, '--save', '--out', "$dir/cal");
is($rc, 0, 'the second --save') or diag($err);

$log = $t->read_file("$dir/cal/CHANGELOG.md");
my @entries = $log =~ /^## (\S+)$/mg;
is(scalar @entries, 2, 'CHANGELOG.md has two entries');
my ($newest) = $log =~ /^(## .*?)(?=^## |\z)/ms;
like($newest, qr/^- added `test-model-x`/m, 'changelog: added');
like($newest, qr/^- removed `deepseek-v3-0324` \(was [a-z-]+\): no longer in the data$/m,
     'changelog: removed');
like($newest, qr/^- price of `gpt-4o-mini`: USD 0\.15 \/ 0\.6 -> 0\.3 \/ 0\.6/m,
     'changelog: price change');
like($log, qr/First calibration\./, 'changelog: the older entry is kept');

# explore

($rc, $out, $err) = llmr({}, '--input', $snapshot, '--explore');
is($rc, 0, '--explore');
like($out, qr/^frontier, cheapest first: /m, 'explore: the frontier');
like($out, qr/^intelligence \(y\) against blended/m, 'explore: the plot');
like($out, qr/^model\s+provider\s+USD\/1M\s+intel/m, 'explore: the table');
like($out, qr/^\s+complex\s+reasoning\s+/m, 'explore: the thresholds');

# bad invocations

($rc, $out, $err) = llmr({}, '--save');
is($rc, 2, '--save without --out is a usage error');
($rc, $out, $err) = llmr({}, '--input', "$dir/nonexistent.json");
is($rc, 1, 'a missing input file');
like($err, qr/cannot open .*nonexistent\.json/, '  says so');
$t->write_file('bad-overrides.json', '{"calibration": {"method": "magic"}}');
($rc, $out, $err) = llmr({}, '--input', $snapshot, '--overrides',
                         "$dir/bad-overrides.json");
is($rc, 1, 'a bad override file');
like($err, qr/calibration\.method must be/, '  says why');

###########################################################################
# fetching: a mock of the Artificial Analysis API

my $aa_port = $t->port('aa');
my $aa_log = "$dir/aa.requests";
my $aa_body = $t->read_file($snapshot);

sub aa_server {
    my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$aa_port",
        Listen => 16, ReuseAddr => 1) or die "aa mock: $!\n";
    $SIG{CHLD} = 'IGNORE';

    while (my $c = $l->accept) {
        my $pid = fork() // die "fork: $!\n";
        if ($pid) { close $c; next; }

        my $req = '';
        while ($req !~ /\r\n\r\n/) {
            my $n = sysread($c, $req, 4096, length $req);
            last unless $n;
        }
        my ($path) = $req =~ m{^GET (\S+) HTTP};
        my ($key) = $req =~ /^x-api-key: *(\S*)\r$/mi;
        $path //= '';
        $key //= '';

        open(my $fh, '>>', $aa_log);
        print $fh "$path $key\n";
        close $fh;

        my ($status, $body) = (200, $aa_body);
        if ($key ne 'test-key' || $path eq '/v2/unauthorized') {
            ($status, $body) = (401, '{"error": "Invalid API key"}');
        } elsif ($path eq '/v2/error') {
            ($status, $body) = (500, "Internal Server Error\n");
        } elsif ($path eq '/v2/garbage') {
            $body = '{"status": 200, "data": [{"name": ';
        } elsif ($path eq '/v2/slow') {
            sleep 4;
        }

        my %text = (200 => 'OK', 401 => 'Unauthorized',
                    500 => 'Internal Server Error');
        print $c "HTTP/1.1 $status $text{$status}\r\n"
            . "Content-Type: application/json\r\n"
            . 'Content-Length: ' . length($body) . "\r\n"
            . "Connection: close\r\n\r\n$body";
        close $c;
        POSIX::_exit(0);
    }
}

$t->run_daemon(\&aa_server);
$t->waitforsocket("127.0.0.1:$aa_port") or die "aa mock did not start\n";

sub aa_requests {
    my @l = eval { split /\n/, $t->read_file($aa_log) };
    return scalar @l;
}

my $url = "http://127.0.0.1:$aa_port/v2";
my %key = (AA_API_KEY => 'test-key');

($rc, $out, $err) = llmr({ %key, AA_API_URL => "$url/ok" }, '--dry-run');
is($rc, 0, 'fetch: 200') or diag($err);
like($out, qr{^source:\s+\Q$url\E/ok }m, 'fetch: the URL is the source');
like($out, qr/^entries:\s+43 read/m, 'fetch: all entries read');
like($t->read_file($aa_log), qr{^/v2/ok test-key$}m,
     'fetch: sent x-api-key');

($rc, $out, $err) = llmr({}, '--dry-run');
is($rc, 1, 'no key, no input: exit 1');
like($err, qr/no model data: give --input FILE .* set AA_API_KEY/,
     'no key: a clear message');

($rc, $out, $err) = llmr({ AA_API_KEY => 'wrong' }, '--url', "$url/ok");
is($rc, 1, 'fetch: a wrong key');
like($err, qr/HTTP 401: the API refused the key \(check AA_API_KEY\)/,
     'fetch: 401 explained');
like($err, qr/the server said: \{"error": "Invalid API key"\}/,
     'fetch: with the server\'s words');
unlike($err, qr/wrong/, 'fetch: the key is never printed');

($rc, $out, $err) = llmr(\%key, '--url', "$url/error");
is($rc, 1, 'fetch: 500');
like($err, qr/HTTP 500 from the server/, 'fetch: 500 explained');

($rc, $out, $err) = llmr(\%key, '--url', "$url/garbage", '--out',
                         "$dir/garbage");
is($rc, 1, 'fetch: malformed JSON');
like($err, qr{\Q$url\E/garbage: invalid JSON}, 'fetch: says invalid JSON');
ok(!glob("$dir/garbage/.aa-cache-*"), 'fetch: a bad answer is not cached');

my $t0 = time;
($rc, $out, $err) = llmr(\%key, '--url', "$url/slow", '--timeout', '1');
my $took = time - $t0;
is($rc, 1, 'fetch: slow server');
like($err, qr/timed out/, 'fetch: says it timed out');
ok($took < 3.5, sprintf('fetch: gave up after %.1f s', $took));

($rc, $out, $err) = llmr({ %key, AA_API_URL => "http://127.0.0.1:1/x" });
is($rc, 1, 'fetch: nothing listening');
like($err, qr{fetching http://127\.0\.0\.1:1/x: }, 'fetch: says where');

# the 6-hour cache next to the output

my $before = aa_requests();
($rc, $out, $err) = llmr({ %key, AA_API_URL => "$url/ok" }, '--save',
                         '--out', "$dir/fetched");
is($rc, 0, 'cache: first --save fetches') or diag($err);
is(aa_requests(), $before + 1, 'cache: one request');
my @cache = glob("$dir/fetched/.aa-cache-*.json");
is(scalar @cache, 1, 'cache: a cache file next to the output');

($rc, $out, $err) = llmr({ %key, AA_API_URL => "$url/ok" }, '--save',
                         '--out', "$dir/fetched");
is($rc, 0, 'cache: second --save');
is(aa_requests(), $before + 1, 'cache: no request within 6 hours');
like($err, qr/using .*\.aa-cache-.*\.json \(fetched \d+ s ago/,
     'cache: says it used the cache');

($rc, $out, $err) = llmr({ %key, AA_API_URL => "$url/ok" }, '--save',
                         '--out', "$dir/fetched", '--no-cache');
is($rc, 0, 'cache: --no-cache');
is(aa_requests(), $before + 2, 'cache: --no-cache fetches');

utime(time - 7 * 3600, time - 7 * 3600, $cache[0]);
($rc, $out, $err) = llmr({ %key, AA_API_URL => "$url/ok" }, '--dry-run',
                         '--out', "$dir/fetched");
is($rc, 0, 'cache: a stale cache');
is(aa_requests(), $before + 3, 'cache: older than 6 hours is fetched again');

$t->done_testing;
