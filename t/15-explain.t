#!/usr/bin/perl

# Explanations outside llm_status: `llmr explain` (a body on stdin and a
# registry: class, evidence, chosen model, alternatives with their
# relative cost, the fallback order), and the documented JSON log_format
# of examples/nginx.conf (valid JSON a line, routed or not).

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

my $t = LLMRouter::Test->new;
my $dir = $t->testdir;

$t->write_file('models.json', <<'EOF2');
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
EOF2

# the explanations below are of routing within the client's API; the
# translated one comes last
my @TRANSLATE = ('--no-translate');

# run_explain(\$body, @args): (exit code, stdout, stderr)
sub run_explain {
    my ($body, @args) = @_;
    $t->write_file('body.json', $body);
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open(STDIN, '<', "$dir/body.json") or die;
        open(STDOUT, '>', "$dir/out") or die;
        open(STDERR, '>', "$dir/err") or die;
        exec { $llmr } $llmr, 'explain', @args, @TRANSLATE
            or POSIX::_exit(127);
    }
    waitpid($pid, 0);
    return ($? >> 8, $t->read_file('out'), $t->read_file('err'));
}

BAIL_OUT("$llmr is not built (./build.sh)") unless -x $llmr;

{

    my $hello = json_encode(chat_body('hello'));
    my ($rc, $out, $err) = run_explain($hello, '--models', "$dir/models.json");
    is($rc, 0, 'llmr explain: exit 0') or diag($err);
    like($out, qr/^class\s+tier trivial, score \d\.\d{3}, confidence/m,
         'the class');
    like($out, qr/^evidence\s+\S/m, 'the evidence');
    like($out, qr/^chosen\s+cheap-model \(provider openai, upstream cheap_pool,/m,
         'the chosen model');
    like($out, qr/^\s+1\s+cheap-model\s.*\s1\.00\s+chosen$/m,
         'the chosen one first, relative cost 1');
    like($out, qr/^\s+2\s+mid-model\s.*fallback \(at simple\)$/m,
         'then the fallback order');
    like($out, qr/^\s+3\s+big-model\s.*fallback \(at complex\)$/m,
         '  up to the strongest');
    like($out, qr/^\s+-\s+claude\s.*another API$/m,
         'the cheaper model of another API is not in the chain');

    # translated (llm_route_translate on): the cheapest of any API

    @TRANSLATE = ();
    ($rc, $out) = run_explain($hello, '--models', "$dir/models.json");
    like($out, qr/^chosen\s+claude /m, 'translation on: the Anthropic model');
    like($out, qr/policy: .*\btranslated\b/m, '  the reasons say translated')
        or diag($out);
    @TRANSLATE = ('--no-translate');

    ($rc, $out) = run_explain(json_encode({ model => 'x', max_tokens => 10,
        system => 'be brief',
        messages => [ { role => 'user', content => 'hello' } ] }),
        '--models', "$dir/models.json");
    like($out, qr/^chosen\s+claude /m, 'an Anthropic body: the Anthropic model');

    ($rc, $out) = run_explain($hello, '--models', "$dir/models.json", '--json');
    my $j = json_decode($out);
    ok($j, '--json: JSON');
    is($j->{chosen}{model}, 'cheap-model', '--json: chosen');
    is($j->{tier}, 'trivial', '--json: tier');
    is(scalar(@{ $j->{alternatives} }), 4, '--json: every model');
    my %alt = map { $_->{model} => $_ } @{ $j->{alternatives} };
    is($alt{'cheap-model'}{relative}, 1, 'relative cost of the chosen: 1');
    my $in = $j->{input_tokens};
    my $out_t = $j->{output_tokens};
    my $want = ($in * 15 + $out_t * 75) / ($in * 0.15 + $out_t * 0.6);
    ok(abs($alt{'big-model'}{relative} - $want) / $want < 1e-3,
       'relative cost of big-model: the price ratio for these tokens');
    is($alt{'mid-model'}{chain}, 2, 'chain order');
    ok(defined $j->{features}{text_bytes}, 'features');

    # a body that needs vision: the cheap model cannot serve it

    my $image = json_encode({ model => 'x', messages => [
        { role => 'user', content => [ { type => 'text', text => 'what?' },
          { type => 'image_url', image_url => { url => 'http://x/a.png' } } ]
        } ] });
    ($rc, $out) = run_explain($image, '--models', "$dir/models.json", '--json');
    $j = json_decode($out);
    is($j->{chosen}{model}, 'mid-model', 'vision: mid-model');
    %alt = map { $_->{model} => $_ } @{ $j->{alternatives} };
    is($alt{'cheap-model'}{chain}, undef, 'vision: cheap is not in the chain');
    is($alt{'cheap-model'}{note}, 'no vision', '  and why');
    ok((grep { $_ eq 'needs_vision' } @{ $j->{policy_reasons} }),
       '  the policy\'s reason');

    ($rc, $out) = run_explain($hello, '--models', "$dir/models.json", '--json',
                          '--min-tier', 'expert');
    is(json_decode($out)->{chosen}{model}, 'big-model', '--min-tier');

    ($rc, $out, $err) = run_explain('{"messages": 5}', '--models',
                                "$dir/models.json");
    is($rc, 1, 'a bad body: exit 1');
    like($err, qr/cannot be routed/, '  said on stderr');

    ($rc, $out, $err) = run_explain($hello);
    is($rc, 2, 'no --models: exit 2');
    like($err, qr/--models FILE is required/, '  said');
}

# the log_format of examples/nginx.conf: JSON a line

my $example = do {
    local $/;
    open(my $fh, '<', "$repo/examples/nginx.conf") or die $!;
    <$fh>;
};
my ($format) = $example =~ /^(\s*log_format llm escape=json\n.*?;)\n/ms;
ok($format, 'examples/nginx.conf has the JSON log_format');

start_providers($t);
$t->run(router_conf(http => $format,
                    location => "access_log %%TESTDIR%%/llm.log llm;"));

$t->http_post('/v1/chat/completions', chat_body("line \"one\"\n\\"));
$t->http_post('/v1/chat/completions', '{"messages": 5}');

my @lines;
for (1 .. 50) {
    @lines = split /\n/, (eval { $t->read_file('llm.log') } // '');
    last if @lines >= 2;
    select(undef, undef, undef, 0.05);
}
is(scalar(@lines), 2, 'two lines');
my @j = map { json_decode($_) } @lines;
ok($j[0] && $j[1], 'both are JSON, routed or not');
is($j[0]{model}, 'cheap-model', 'routed: the model');
like($j[0]{request_id}, qr/^[0-9a-f]{32}$/, 'routed: the request id');
is($j[0]{attempt}, '1', 'routed: the attempt');
is($j[1]{model}, '', 'not routed: empty values');
is($j[1]{status}, 400, 'not routed: the status');
unlike("@lines", qr/line/, 'no prompt text in the log');

$t->done_testing;
