#!/usr/bin/perl

# Every way a request body reaches the access phase: in memory, chunked,
# several packets, spooled to a temp file, larger than the header buffer;
# with auth_request, satisfy any, internal redirects, pipelining. The
# provider must receive exactly the original body with the model replaced.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha1_hex);
use Test::More;

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;

my $t = LLMRouter::Test->new;

start_providers($t);

$t->run(router_conf(location => <<'LOC', server => <<'SRV'));
            client_body_buffer_size 1k;
            client_max_body_size 10m;
            llm_route_max_body 2m;
LOC
        client_header_buffer_size 1k;

        location /file-only/ {
            llm_route on;
            client_body_in_file_only clean;
            proxy_pass http://$llm_upstream/v1/chat/completions;
        }

        location /auth/ {
            auth_request /authz;
            llm_route on;
            client_body_buffer_size 1k;
            proxy_pass http://$llm_upstream/v1/chat/completions;
        }

        location = /authz {
            internal;
            if ($http_x_token = "") {
                return 403;
            }
            return 204;
        }

        location /any/ {
            satisfy any;
            allow 127.0.0.1;
            deny all;
            llm_route on;
            proxy_pass http://$llm_upstream/v1/chat/completions;
            add_header X-LLM-Model $llm_model always;
        }

        location /redirect/ {
            llm_route on;
            client_body_buffer_size 1k;
            proxy_intercept_errors on;
            error_page 429 = @again;
            proxy_pass http://$llm_upstream/v1/chat/completions;
        }

        location @again {
            proxy_pass http://$llm_upstream/v1/chat/completions;
            add_header X-LLM-Model $llm_model always;
            add_header X-LLM-Tier $llm_tier always;
        }
SRV

my $port = $t->nginx_port;

# the exact bytes a provider should receive for a body with "model":"auto"
# routed to the model whose provider id is $id
my %ids = map { $_ => 1 } qw(gpt-4o-mini mid-model claude-big);

sub expected {
    my ($body, $id) = @_;
    (my $e = $body) =~ s/"model":"auto"/"model":"$id"/;
    return $e;
}

sub body_of_size {
    my ($size) = @_;
    my $head = '{"model":"auto","messages":[{"role":"user","content":"hi ';
    my $tail = '"}],"max_tokens":16}';
    return $head . ('x' x ($size - length($head) - length($tail))) . $tail;
}

sub check_received {
    my ($r, $body, $name) = @_;
    my $id = $r->{headers}{'x-mock-model'} // 'none';
    ok($ids{$id}, "$name: a registered model id ($id)");
    my $want = expected($body, $id);
    is($r->{headers}{'x-mock-body-sha1'}, sha1_hex($want),
       "$name: provider got the rewritten body");
    is($r->{headers}{'x-mock-content-length'}, length($want),
       "$name: Content-Length is the new length");
}

sub raw_post {
    my ($uri, $body, %o) = @_;
    my $te = $o{chunked};
    my $head = "POST $uri HTTP/1.1\r\nHost: localhost\r\n"
        . "Content-Type: application/json\r\nConnection: close\r\n"
        . ($te ? "Transfer-Encoding: chunked\r\n"
               : "Content-Length: " . length($body) . "\r\n")
        . ($o{headers} // '') . "\r\n";
    my @parts = @{ $o{parts} // [ $body ] };
    if ($te) {
        @parts = map { sprintf("%x\r\n%s\r\n", length, $_) } @parts;
        push @parts, "0\r\n\r\n";
    }
    my $raw = $t->http_raw($head, body => \@parts, sleep => $o{sleep} // 0);
    return parse_http($raw // '');
}

# in memory, one packet

my $small = body_of_size(300);
check_received($t->http_post('/v1/chat/completions', $small), $small,
               'in memory');

# several packets: the body handler runs later (NGX_AGAIN path)

my @parts = (substr($small, 0, 40), substr($small, 40, 100),
             substr($small, 140));
my $r = raw_post('/v1/chat/completions', $small, parts => \@parts,
                 sleep => 0.15);
is($r->{status}, 200, 'split packets: 200');
check_received($r, $small, 'split packets');

# chunked, in several chunks and packets

$r = raw_post('/v1/chat/completions', $small, chunked => 1, parts => \@parts,
              sleep => 0.1);
is($r->{status}, 200, 'chunked: 200');
check_received($r, $small, 'chunked');
is($r->{headers}{'x-mock-transfer-encoding'} // 'none', 'none',
   'chunked: re-framed with Content-Length');

# larger than client_body_buffer_size: spooled to a temp file

my $big = body_of_size(300_000);
$r = $t->http_post('/v1/chat/completions', $big);
is($r->{status}, 200, 'temp file: 200');
check_received($r, $big, 'temp file');

$r = raw_post('/v1/chat/completions', $big, chunked => 1,
              parts => [ unpack('(a65536)*', $big) ], sleep => 0.05);
is($r->{status}, 200, 'chunked temp file: 200');
check_received($r, $big, 'chunked temp file');

# past the 1 MB read back at once: read in pieces, the head kept in memory

# (the bytes in a field that is not text: a prompt this long fits no model)

my $pad = '"metadata":{"pad":"' . ('v' x 1_400_000) . '"}';
my $huge = '{"model":"auto",' . $pad . ',"messages":[{"role":"user",'
    . '"content":"hello there"}]}';
$r = $t->http_post('/v1/chat/completions', $huge);
is($r->{status}, 200, 'temp file over 1 MB: 200');
check_received($r, $huge, 'temp file over 1 MB');

my $huge_tail = '{' . $pad . ',"messages":[{"role":"user","content":'
    . '"hello there"}],"model":"auto"}';
$r = $t->http_post('/v1/chat/completions', $huge_tail);
check_received($r, $huge_tail, 'model at the end of a body over 1 MB');

$r = $t->http_post('/file-only/x', $small);
is($r->{status}, 200, 'client_body_in_file_only: 200');
check_received($r, $small, 'client_body_in_file_only');

# model key at the very end of a spooled body (the edit lands in the file)

my $tail_model = '{"messages":[{"role":"user","content":"' . ('y' x 5000)
    . '"}],"model":"auto"}';
$r = $t->http_post('/v1/chat/completions', $tail_model);
check_received($r, $tail_model, 'model at the end of a spooled body');

# no model at all in a spooled body: inserted after the first '{'

my $no_model = '{"messages":[{"role":"user","content":"' . ('z' x 5000)
    . '"}]}';
$r = $t->http_post('/v1/chat/completions', $no_model);
my $id = $r->{headers}{'x-mock-model'} // 'none';
(my $want = $no_model) =~ s/^\{/{"model":"$id",/;
is($r->{headers}{'x-mock-body-sha1'}, sha1_hex($want),
   'model inserted into a spooled body');

# headers + body larger than client_header_buffer_size

my $hdrs = join('', map { "X-Pad-$_: " . ('p' x 100) . "\r\n" } 1 .. 6);
$r = raw_post('/v1/chat/completions', $small, headers => $hdrs);
is($r->{status}, 200, 'large headers + body: 200');
check_received($r, $small, 'large headers + body');

# auth_request runs first and the request does not hang

$r = $t->http_post('/auth/x', $big, 'X-Token' => 'yes');
is($r->{status}, 200, 'auth_request allowed: 200');
check_received($r, $big, 'auth_request allowed');

my $before = scalar(mock_requests($t, 'cheap'));
$r = $t->http_post('/auth/x', $small);
is($r->{status}, 403, 'auth_request denied: 403');
is(scalar(mock_requests($t, 'cheap')), $before, 'denied: nothing proxied');

# satisfy any: access granted early, routing still happens

$r = $t->http_post('/any/x', $small);
is($r->{status}, 200, 'satisfy any: 200');
is($r->{headers}{'x-llm-model'}, 'cheap-model', 'satisfy any: routed');
check_received($r, $small, 'satisfy any');

# internal redirect (error_page): the decision survives, the body is resent

for my $b ($small, $big) {
    my $name = length($b) > 1000 ? 'redirect, temp file' : 'redirect';
    my $first = $t->http_post('/v1/chat/completions', $b);
    my $mock = $first->{headers}{'x-mock-name'};
    my $n = scalar(mock_requests($t, $mock));
    $r = $t->http_post('/redirect/x', $b, 'X-Mock-Status' => 429);
    is($r->{status}, 429, "$name: the retry's answer");
    is($r->{headers}{'x-llm-model'}, $first->{headers}{'x-llm-model'},
       "$name: variables after the redirect");
    is($r->{headers}{'x-llm-tier'}, $first->{headers}{'x-llm-tier'},
       "$name: tier kept");
    my @reqs = mock_requests($t, $mock);
    is(scalar(@reqs) - $n, 2, "$name: two attempts reached the provider");
    is($reqs[-1]{body_sha1},
       sha1_hex(expected($b, $first->{headers}{'x-mock-model'})),
       "$name: the second attempt got the same rewritten body");
}

# llm_route_max_body

my $over = body_of_size(2 * 1024 * 1024 + 10);
$r = $t->http_post('/v1/chat/completions', $over);
is($r->{status}, 413, 'over llm_route_max_body: 413');
is($r->{json}{error}{code}, 'llm_body_too_large', '413 JSON');

$r = raw_post('/v1/chat/completions', $over, chunked => 1,
              parts => [ unpack('(a262144)*', $over) ]);
is($r->{status}, 413, 'chunked over llm_route_max_body: 413');

# pipelined requests on one connection

my $one = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
    . "Content-Type: application/json\r\nContent-Length: "
    . length($small) . "\r\n\r\n$small";
(my $last = $one) =~ s/\r\n\r\n/\r\nConnection: close\r\n\r\n/;
my $raw = $t->http_raw($one . $one . $last);
my @answers = ($raw // q()) =~ /HTTP\/1\.1 200 OK\r\n/g;
is(scalar(@answers), 3, 'three pipelined requests answered');
my @models = ($raw // '') =~ /^X-Mock-Model: (\S+)/mig;
is(scalar(grep { $ids{$_} } @models), 3, 'all three routed');

# no temp file is left behind

my @left = glob($t->testdir . '/client_body_temp/*');
is(scalar(@left), 0, 'no temp files left') or diag("@left");

$t->done_testing;
