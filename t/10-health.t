#!/usr/bin/perl

# Health and failover: error_page + "llm_route fallback" chains to the
# next model, failures take a model down on every worker and, through
# Redis, on every instance; cooldown, half-open probes, Retry-After,
# attempt limits, failing closed, provider preference.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha1_hex);
use Test::More;
use Time::HiRes qw(sleep time);

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;


my $a = LLMRouter::Test->new->workers(2);
my $b = LLMRouter::Test->new->workers(2);
my $rport = $a->port(6379);
$a->start_redis(port => $rport);
start_providers($a);

my $fallback = <<'EOF';
            proxy_intercept_errors on;
            recursive_error_pages on;
            proxy_read_timeout 1s;
            client_body_buffer_size 1k;
            error_page 401 402 408 429 500 502 503 504 = @llm_fallback;
            add_header X-LLM-Attempt $llm_attempt always;
            add_header X-LLM-Failed $llm_failed_models always;
EOF

my $server = <<'EOF';
        location @llm_fallback {
            llm_route fallback;
            proxy_pass http://$llm_upstream;
            proxy_read_timeout 1s;
            proxy_intercept_errors on;
            recursive_error_pages on;
            error_page 401 402 408 429 500 502 503 504 = @llm_fallback;
            add_header X-LLM-Model $llm_model always;
            add_header X-LLM-Attempt $llm_attempt always;
            add_header X-LLM-Failed $llm_failed_models always;
            add_header X-LLM-Reason $llm_reason always;
        }

        location = /llm/status { llm_status; }
EOF

sub conf {
    my (%o) = @_;
    my $c = router_conf(
        http => "llm_redis 127.0.0.1:$rport flush=250ms timeout=500ms;\n"
                . "    llm_health fails=3 cooldown=1500ms probes=1 "
                . ($o{health} // '') . ";\n",
        location => $fallback, server => $server);
    $c =~ s/%%PORT_(808[1-3])%%/$a->port($1)/ge;
    return $c;
}

$a->run(conf());
$b->run(conf());

sub post {
    my ($t, $text, %h) = @_;
    return $t->http_post('/v1/chat/completions', chat_body($text // 'hello'),
                         %h);
}

sub health {
    my ($t, $m) = @_;
    return $t->http_get('/llm/status')->{json}{health}{$m};
}

# a healthy start

my $r = post($a);
is($r->{headers}{'x-llm-model'}, 'cheap-model', 'cheap serves a greeting');
is($r->{headers}{'x-llm-attempt'}, 1, 'first attempt');
is(health($a, 'cheap-model')->{state}, 'healthy', 'cheap is healthy');

# the cheap model fails: the fallback answers, with the body rewritten

mock_fail($a, 'cheap', 503);

my $n = scalar(mock_requests($a, 'mid'));
$r = post($a, 'hello there');
is($r->{status}, 200, 'fallback: the client gets a 200');
is($r->{headers}{'x-mock-name'}, 'mid', 'fallback: from mid');
is($r->{headers}{'x-llm-model'}, 'mid-model', 'fallback: $llm_model');
is($r->{headers}{'x-llm-attempt'}, 2, 'fallback: $llm_attempt');
is($r->{headers}{'x-llm-failed'}, 'cheap-model', '$llm_failed_models');
like($r->{headers}{'x-llm-reason'}, qr/fallback/, '$llm_reason says so');
is($r->{headers}{'x-mock-model'}, 'mid-model', 'body rewritten for mid');
is($r->{json}{mock}{received}{messages}[0]{content}, 'hello there',
   'the prompt went through intact');

# a spooled body is resent intact

# the padding is not prompt text: the request stays trivial, its body
# larger than client_body_buffer_size
my $big = '{"model":"auto","metadata":{"pad":"' . ('x' x 4000) . '"},'
        . '"messages":[{"role":"user","content":"hi"}]}';
$r = $a->http_post('/v1/chat/completions', $big,
                   'X-LLM-Min-Tier' => 'simple');
is($r->{status}, 200, 'spooled body: 200 after fallback');
(my $want = $big) =~ s/"auto"/"mid-model"/;
is($r->{headers}{'x-mock-body-sha1'}, sha1_hex($want),
   'spooled body: the second model got it, rewritten');

# after three failures in a row the cheap model is down: no more tries

$r = post($a, 'hi again');
is($r->{headers}{'x-llm-failed'}, 'cheap-model', 'a third failure');

my $h;
ok(eventually(2, sub {
    $h = health($a, 'cheap-model');
    return $h->{state} eq 'down';
}), 'cheap is down after 3 failures');
like($h->{reason}, qr/3 failures in a row \(last HTTP 503\)/,
     "reason: $h->{reason}");
ok($h->{until} > 0, 'down until a time');

my $cheap = scalar(mock_requests($a, 'cheap'));
$r = post($a);
is($r->{headers}{'x-mock-name'}, 'mid', 'down: traffic goes to mid');
is($r->{headers}{'x-llm-attempt'}, 1, 'down: without trying cheap first');
like($r->{headers}{'x-llm-reason'} // '', qr/\bavoided_unhealthy\b/,
     "the reason says cheap was avoided: $r->{headers}{'x-llm-reason'}");
is(scalar(mock_requests($a, 'cheap')), $cheap, 'cheap got nothing');

# the other instance hears it through Redis within about one interval

ok(eventually(2, sub { health($b, 'cheap-model')->{state} eq 'down' }),
   'instance b sees cheap down');
like(health($b, 'cheap-model')->{reason}, qr/fleet/, 'from the fleet');
my $cheap_b = scalar(mock_requests($a, 'cheap'));
$r = post($b);
is($r->{headers}{'x-mock-name'}, 'mid', 'b routes around cheap');
is(scalar(mock_requests($a, 'cheap')), $cheap_b, 'b sent cheap nothing');
like($a->read_file('error.log'),
     qr/\[warn\].*model "cheap-model" is down for \d+s: 3 failures/,
     'the transition is logged at warn');

# cooldown, then one half-open probe: it succeeds, healthy again

mock_ok($a, 'cheap');
ok(eventually(4, sub {
    my $x = post($a);
    return ($x->{headers}{'x-mock-name'} // '') eq 'cheap';
}), 'after the cooldown a probe reaches cheap');
ok(eventually(2, sub { health($a, 'cheap-model')->{state} eq 'healthy' }),
   'and cheap is healthy again');
$r = post($a);
is($r->{headers}{'x-mock-name'}, 'cheap', 'traffic is back on cheap');

# 429 with Retry-After: down for that long (1 s, shorter than the
# cooldown, so that the time left tells which one applied)

mock_fail($a, 'cheap', 429, 1);
$r = post($a, 'hello');
is($r->{status}, 200, '429 from cheap: the fallback answers');
$h = health($a, 'cheap-model');
is($h->{state}, 'down', '429 + Retry-After: down at once');
like($h->{reason}, qr/HTTP 429, Retry-After 1s/, "reason: $h->{reason}");
my $left = $h->{until} / 1000 - time();
ok($left > 0 && $left <= 1.1,
   sprintf('down for at most 1s, not the 1.5s cooldown (%.2f)', $left));
mock_ok($a, 'cheap');
ok(eventually(3, sub { post($a)->{headers}{'x-mock-name'} eq 'cheap' }),
   'cheap back after Retry-After');

# 401 (an expired key) falls back too; every model in turn, then the
# last status goes back as JSON

$r = post($a, 'hello', 'X-Mock-Status' => 401);
is(join(',', sort split /,/, $r->{headers}{'x-llm-failed'} // ''),
   'big-model,cheap-model,mid-model', '401: every model tried in turn');
is($r->{status}, 401, 'the last status goes back');
is($r->{json}{error}{code}, 'llm_all_attempts_failed',
   'attempts exhausted: llm_all_attempts_failed');
like($r->{json}{error}{message},
     qr/tried: (?=.*cheap-model)(?=.*mid-model)(?=.*big-model)/,
     'the message lists the models tried');

# a provider that hangs past proxy_read_timeout (300 ms here, each of
# the three models in turn)

$a->stop;
my $e = LLMRouter::Test->new->workers(1);
start_providers($e);
$e->run(router_conf(location => $fallback =~ s/timeout 1s/timeout 300ms/r,
                    server => $server =~ s/timeout 1s/timeout 300ms/r));
$r = $e->http_post('/v1/chat/completions', chat_body('hello'),
                   'X-Mock-Delay' => 1);
is($r->{status}, 504, 'a provider that hangs everywhere: 504 in the end');
like($r->{headers}{'x-llm-failed'} // '', qr/^cheap-model,mid-model/,
     'the hangs counted as failures');
my $es = $e->http_get('/llm/status')->{json};
is($es->{instance}{models}{'cheap-model'}{errors_timeout}, 1,
   'counted as a timeout');
ok($es->{instance}{fallbacks} >= 2, 'fallbacks counted');
$e->stop;



# llm_route_max_attempts, failing closed, preference

my $c = LLMRouter::Test->new->workers(1);
start_providers($c);
$c->run(router_conf(
    http => 'llm_health fails=1 cooldown=30s all_down=fail_closed;',
    location => $fallback,
    server => "        llm_route_max_attempts 2;\n" . $server));

$r = $c->http_post('/v1/chat/completions', chat_body('hello'),
                   'X-Mock-Status' => 500);
is($r->{headers}{'x-llm-failed'}, 'cheap-model,mid-model',
   'llm_route_max_attempts 2: two models tried');
is($r->{status}, 500, 'then the JSON error');
like($r->{json}{error}{message}, qr/llm_route_max_attempts/, 'and why');

# cheap and mid are down now (fails=1); big is the only one left
$r = $c->http_post('/v1/chat/completions', chat_body('hello'),
                   'X-Mock-Status' => 500);
$r = $c->http_post('/v1/chat/completions', chat_body('hello'));
is($r->{status}, 503, 'all down and fail_closed: 503');
is($r->{json}{error}{code}, 'llm_no_model', 'llm_no_model');
like($r->{json}{error}{message}, qr/down/, 'the message says down');
$c->stop;

my $d = LLMRouter::Test->new->workers(1);
start_providers($d);
$d->run(router_conf());
$r = $d->http_post('/v1/chat/completions', chat_body('hello'),
                   'X-LLM-Min-Tier' => 'complex', 'X-LLM-Prefer' => 'anthropic');
is($r->{headers}{'x-llm-model'}, 'big-model', 'X-LLM-Prefer: anthropic');
like($r->{headers}{'x-llm-reason'}, qr/preferred_provider/, 'reason');
$r = $d->http_post('/v1/chat/completions', chat_body('hello'),
                   'X-LLM-Prefer' => 'anthropic');
is($r->{headers}{'x-llm-model'}, 'cheap-model',
   'but a preference never moves a request up a tier');

$a->done_testing;
