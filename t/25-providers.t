#!/usr/bin/perl

# examples/providers.conf, verbatim, against local TLS mock providers that
# present certificates for api.openai.com, api.anthropic.com and
# generativelanguage.googleapis.com, signed by a test CA.
#
# The test runs in its own mount and network namespaces (unshare, as
# root): there /etc/hosts maps the three names to 127.0.0.2-4, the test CA
# stands in for the system's trusted bundle, and the mocks listen on port
# 443.  Nothing of it is visible outside.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

my $repo = "$FindBin::Bin/..";

unless ($ENV{LLMR_PROVIDERS_NS}) {
    if ($> != 0) {
        plan tests => 1;
        fail('t/25-providers.t needs root (unshare -m -n) to stand in for '
             . 'the providers');
        exit 1;
    }

    $ENV{LLMR_PROVIDERS_NS} = 1;
    exec('unshare', '-m', '-n', '--', $^X, $0, @ARGV)
        or die "unshare: $!\n";
}

use LLMRouter::Test;

sub sh {
    my (@cmd) = @_;
    my $out = `@cmd 2>&1`;
    die "@cmd: $out\n" if $?;
    return $out;
}

sub slurp {
    my ($f) = @_;
    open(my $fh, '<', $f) or return '';
    local $/;
    return <$fh>;
}

my $node = `command -v node 2>/dev/null`;
chomp $node;

if (!$node) {
    plan tests => 1;
    fail('node is needed for the TLS mock providers (apt-get install nodejs)');
    exit 1;
}

my $t = LLMRouter::Test->new->workers(1);
my $d = $t->testdir;

sh('ip link set lo up');

# a test CA and the providers' certificates

my %hosts = (openai => [ 'api.openai.com', '127.0.0.2' ],
             anthropic => [ 'api.anthropic.com', '127.0.0.3' ],
             gemini => [ 'generativelanguage.googleapis.com', '127.0.0.4' ]);

sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
   . " -nodes -keyout $d/ca.key -out $d/ca.pem -days 2"
   . " -subj /CN=llmr-test-ca");

for my $p (sort keys %hosts) {
    my $h = $hosts{$p}[0];
    $t->write_file("$p.ext", "subjectAltName=DNS:$h\n"
                   . "extendedKeyUsage=serverAuth\n");
    sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
       . " -keyout $d/$p.key -out $d/$p.csr -subj /CN=$h");
    sh("openssl x509 -req -in $d/$p.csr -CA $d/ca.pem -CAkey $d/ca.key"
       . " -CAcreateserial -out $d/$p.pem -days 2 -extfile $d/$p.ext");
}

# the names and the trusted bundle, in this namespace only

$t->write_file('hosts', "127.0.0.1 localhost\n"
    . join('', map { "$hosts{$_}[1] $hosts{$_}[0]\n" } sort keys %hosts));
sh("mount --bind $d/hosts /etc/hosts");
sh("mount --bind $d/ca.pem /etc/ssl/certs/ca-certificates.crt");

# the keys, where the example reads them (relative to the conf directory)

mkdir "$d/llm-keys";
my %key = (openai => 'sk-test-openai', anthropic => 'sk-ant-test',
           gemini => 'AIza-test');
$t->write_file("llm-keys/$_.key", "$key{$_}\n") for keys %key;

sub start_provider {
    my ($p, $cert) = @_;
    $cert //= $p;
    my @cmd = ($node, "$repo/t/sdk/mock_provider.js",
        '--host', $hosts{$p}[1], '--port', 443, '--name', $p,
        '--log', "$d/$p.log", '--key', $key{$p},
        '--tls-cert', "$d/$cert.pem", '--tls-key', "$d/$cert.key");
    my $pid = $t->run_daemon(sub {
        open(STDOUT, '>', "$d/$p.out");         # its "ready", not TAP
        exec { $cmd[0] } @cmd;
    });
    for (1 .. 100) {
        last if IO::Socket::INET->new(PeerAddr => $hosts{$p}[1],
                                      PeerPort => 443);
        sleep 0.05;
    }
    return $pid;
}

my %pid = map { $_ => start_provider($_) } sort keys %hosts;

$t->run(<<"EOF");
%%TEST_GLOBALS%%
%%LOAD_MODULE%%

events { worker_connections 256; }

http {
    %%TEST_GLOBALS_HTTP%%

    include $repo/examples/providers.conf;
}
EOF

sub gw {
    my ($path, $body, %h) = @_;
    return $t->http_post($path, $body, port => 8080, %h);
}

sub log_of {
    my ($p) = @_;
    return map { LLMRouter::Test::json_decode($_) }
           grep { /\S/ } split /\n/, slurp("$d/$p.log");
}

# An OpenAI client: the cheapest model of any API (Gemini's, translated)

my $r = gw('/v1/chat/completions', { model => 'gpt-4o',
    messages => [ { role => 'user', content => 'hello there' } ] },
    'Authorization' => 'Bearer a-client-token');
is($r->{status}, 200, 'openai client, translated: 200 over TLS')
    or diag $r->{content};
is($r->{json}{object}, 'chat.completion', "  an OpenAI answer");
like($r->{json}{choices}[0]{message}{content} // '', qr/mock answer from gemini/,
     '  written by the Gemini model');
my ($q) = (log_of('gemini'))[-1];
is($q->{headers}{host}, 'generativelanguage.googleapis.com', '  Host');
is($q->{headers}{'x-goog-api-key'}, 'AIza-test', "  the gateway's Gemini key");
ok(!exists $q->{headers}{authorization}, "  the client's token is not sent");
is($q->{path}, '/v1beta/models/gemini-2.0-flash:generateContent', '  the path');
ok(LLMRouter::Test::json_decode($q->{body})->{contents}, '  a Gemini body');

# OpenAI, preferred: its own model

$r = gw('/v1/chat/completions', { model => 'gpt-4o',
    messages => [ { role => 'user', content => 'hello there' } ] },
    'Authorization' => 'Bearer a-client-token', 'X-LLM-Prefer' => 'openai');
is($r->{status}, 200, 'openai: 200 over TLS') or diag $r->{content};
like($r->{content}, qr/mock answer from openai/, 'openai: the answer');
($q) = (log_of('openai'))[-1];
is($q->{headers}{host}, 'api.openai.com', 'openai: Host');
is($q->{headers}{authorization}, 'Bearer sk-test-openai',
   "openai: the gateway's key, not the client's");
is($q->{path}, '/v1/chat/completions', 'openai: the path');
is($q->{model}, 'gpt-4o-mini', 'openai: the cheapest OpenAI model');

# Anthropic (preferred: the cheapest model is Gemini's)

$r = gw('/v1/messages', { model => 'claude-x', max_tokens => 50,
    messages => [ { role => 'user', content => 'hello there' } ] },
    'X-LLM-Prefer' => 'anthropic');
is($r->{status}, 200, 'anthropic: 200 over TLS') or diag $r->{content};
($q) = (log_of('anthropic'))[-1];
is($q->{headers}{host}, 'api.anthropic.com', 'anthropic: Host');
is($q->{headers}{'x-api-key'}, 'sk-ant-test', 'anthropic: x-api-key');
is($q->{headers}{'anthropic-version'}, '2023-06-01',
   'anthropic: anthropic-version');
is($q->{model}, 'claude-3-5-haiku-latest', 'anthropic: its id');

# Gemini, streamed

$r = gw('/v1beta/models/gemini-1.5-pro:streamGenerateContent?alt=sse',
        { contents => [ { role => 'user', parts => [ { text => 'hi' } ] } ] },
        'x-goog-api-key' => 'a-client-key');
is($r->{status}, 200, 'gemini stream: 200 over TLS') or diag $r->{content};
like($r->{content}, qr/^data: .*mock/m, 'gemini stream: events');
($q) = (log_of('gemini'))[-1];
is($q->{headers}{host}, 'generativelanguage.googleapis.com', 'gemini: Host');
is($q->{headers}{'x-goog-api-key'}, 'AIza-test', "gemini: the gateway's key");
is($q->{path}, '/v1beta/models/gemini-2.0-flash:streamGenerateContent',
   'gemini: the model in the path');
like($q->{query} // '', qr/alt=sse/, 'gemini: ?alt=sse');

# an endpoint that is not a generation

$r = gw('/v1/embeddings', { model => 'text-embedding-3-small',
                            input => 'hello' });
is($r->{status}, 200, 'embeddings: 200');
($q) = (log_of('openai'))[-1];
is($q->{path}, '/v1/embeddings', 'embeddings: passed through');
is($q->{model}, 'text-embedding-3-small', 'embeddings: untouched');

# a certificate for another name is refused: the request fails over,
# to a model of another API

$t->stop_daemon($pid{anthropic});
$pid{anthropic} = start_provider('anthropic', 'openai');
my $before = scalar(log_of('anthropic'));
$r = gw('/v1/messages', { model => 'claude-x', max_tokens => 50,
    messages => [ { role => 'user', content => 'hello there' } ] },
    'X-LLM-Prefer' => 'anthropic');
is($r->{status}, 200, 'a certificate for the wrong name: failed over');
is($r->{json}{type}, 'message', "  an Anthropic answer");
like($r->{json}{content}[0]{text} // '', qr/mock answer from (openai|gemini)/,
     '  from a model of another API, translated');
is(scalar(log_of('anthropic')), $before, 'nothing reached the impostor');
like($t->read_file('error.log'), qr/upstream SSL certificate does not match/,
     'nginx says why');

my $all = join '', grep { !/^\S+ \S+ \[debug\]/ }
    split(/^(?=\d{4}\/\d\d\/\d\d )/m, $t->read_file('error.log') // '');
unlike($all . ($t->read_file('access.log') // ''),
       qr/sk-test-openai|sk-ant-test|AIza-test/, 'no key in the logs');

$t->stop;

done_testing();
