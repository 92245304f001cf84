#!/usr/bin/perl

# The llm_status dashboard: the page compiled into the module matches
# ngx_llm_router_module/dashboard.html; it is self-contained (no external
# fetch); served for ?format=html and Accept: text/html with a strict
# Content-Security-Policy; and a real browser (Debian's chromium,
# headless) loading it from nginx under traffic draws the charts with
# data, without console errors.  The screenshot is kept in the test
# directory and copied to build/test-artifacts/dashboard.png.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Copy qw(copy);
use File::Path qw(make_path);
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);

use LLMRouter::Test;
use LLMRouter::MockLLM;
use LLMRouter::Setup;

my $root = "$FindBin::Bin/..";
my $dir = "$root/ngx_llm_router_module";

# the header in the repository is the page

my $generated = `sh '$dir/dashboard2c.sh' '$dir/dashboard.html'`;
is($?, 0, 'dashboard2c.sh runs');
my $committed = do {
    local $/;
    open(my $fh, '<', "$dir/ngx_http_llm_router_dashboard.h") or die $!;
    <$fh>;
};
ok($generated eq $committed,
   'ngx_http_llm_router_dashboard.h matches dashboard.html (run ./build.sh '
   . 'or dashboard2c.sh)');

my $page = do {
    local $/;
    open(my $fh, '<', "$dir/dashboard.html") or die $!;
    <$fh>;
};

# self-contained: the only URL is the SVG namespace, no src/href/import

my @urls = grep { $_ ne 'http://www.w3.org/2000/svg' }
           $page =~ m{(\b(?:https?:)?//[^\s"'<>)]+)}g;
is("@urls", '', 'no external URL in the page');
unlike($page, qr/\b(?:src|href)\s*=|\@import|url\(/i,
       'no src, href, @import or url()');
unlike($page, qr/innerHTML|outerHTML|insertAdjacentHTML|document\.write/,
       'data is never written as HTML');

my $t = LLMRouter::Test->new->workers(2);
start_providers($t);
$t->run(router_conf(server => 'location = /llm/status { llm_status; }'));

my $r = $t->http_get('/llm/status?format=html');
is($r->{status}, 200, '?format=html: 200');
is($r->{headers}{'content-type'}, 'text/html; charset=utf-8', '  HTML');
is($r->{content}, $page, '  the page, as it is in the repository');
like($r->{headers}{'content-security-policy'} // '',
     qr/default-src 'none'.*connect-src 'self'/, '  a strict CSP');
is($r->{headers}{'cache-control'}, 'no-store', '  not cached');
$r = $t->http_get('/llm/status',
                  Accept => 'text/html,application/xhtml+xml,*/*;q=0.8');
like($r->{headers}{'content-type'}, qr{^text/html}, 'a browser\'s Accept');

# a browser under traffic

my $chromium = `sh -c 'command -v chromium chromium-browser' 2>/dev/null`;
($chromium) = split /\n/, $chromium // '';

# ./build.sh test installs chromium: without it the test fails, no skip
BAIL_OUT('chromium is not installed (apt-get install chromium)')
    unless $chromium;

{

    # traffic before and while the page polls: every tier, errors

    my @prompts = ('hello', 'What is the capital of France?',
                   'Prove that there are infinitely many primes and design '
                   . 'a distributed consensus algorithm with proofs.');
    $t->http_post('/v1/chat/completions', chat_body($_)) for @prompts;
    $t->http_post('/v1/chat/completions', chat_body('hi'),
                  'X-Mock-Status' => 503);

    my $load = fork() // die "fork: $!";
    if ($load == 0) {
        for my $i (1 .. 60) {
            $t->http_post('/v1/chat/completions',
                          chat_body($prompts[$i % 3]));
            sleep 0.1;
        }
        POSIX::_exit(0);
    }

    my $url = 'http://127.0.0.1:' . $t->port(8080)
              . '/llm/status?format=html&refresh=1';
    my $td = $t->testdir;
    my @flags = ('--headless', '--no-sandbox', '--disable-gpu',
                 '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 '--no-first-run', '--disable-dev-shm-usage',
                 '--disable-extensions', '--disable-default-apps',
                 "--user-data-dir=$td/chromium", '--enable-logging=stderr',
                 '--v=0', '--virtual-time-budget=6000',
                 '--window-size=1280,1700');

    my $run = sub {
        my ($out, $err, @extra) = @_;
        my $pid = fork() // die "fork: $!";
        if ($pid == 0) {
            open(STDOUT, '>', $out) or POSIX::_exit(126);
            open(STDERR, '>', $err) or POSIX::_exit(126);
            exec('timeout', '90', $chromium, @flags, @extra, $url)
                or POSIX::_exit(127);
        }
        waitpid($pid, 0);
        return $? >> 8;
    };

    my $rc = $run->("$td/dom.html", "$td/chromium-dom.log", '--dump-dom');
    is($rc, 0, 'chromium --dump-dom');
    my $dom = eval { $t->read_file('dom.html') } // '';

    $rc = $run->("$td/shot.out", "$td/chromium-shot.log",
                 "--screenshot=$td/dashboard.png");
    is($rc, 0, 'chromium --screenshot');
    ok(-s "$td/dashboard.png", 'the screenshot, in the test directory')
        and do {
            make_path("$root/build/test-artifacts");
            copy("$td/dashboard.png",
                 "$root/build/test-artifacts/dashboard.png");
        };

    waitpid($load, 0);

    like($dom, qr/<body data-ready="1"/, 'the page read the JSON');
    like($dom, qr/id="status"[^>]*>updated /, 'and says when');

    my ($points) = $dom =~ /class="series actual" data-points="(\d+)"/;
    ok(($points // 0) >= 1, 'cost chart: the actual cost line has points');
    like($dom, qr/class="series reference" data-points="[1-9]/,
         '  and the reference line');

    my %tiers = $dom =~ /class="bar tier" data-tier="(\w+)" data-count="(\d+)"/g;
    is(scalar(keys %tiers), 5, 'tier chart: five bars');
    my $sum = 0;
    $sum += $_ for values %tiers;
    ok($sum >= 4, 'tier chart: the requests') or diag(explain \%tiers);

    my @models = $dom =~ /class="bar requests" data-model="([^"]+)"/g;
    is(scalar(@models), 3, 'model chart: three models');
    like($dom, qr/class="bar errors" data-model="[^"]+" data-count="[1-9]/,
         'model chart: the errors');

    my @health = $dom =~ /<span class="badge s-(\w[\w-]*)">/g;
    is(scalar(@health), 3, 'health: a state per model');

    my @rows = $dom =~ /<tr class="decision">/g;
    ok(@rows >= 5, 'decisions table: rows (' . scalar(@rows) . ')');

    # the console: no error, no CSP violation, no uncaught exception

    my $log = join '', map { eval { $t->read_file($_) } // '' }
                       'chromium-dom.log', 'chromium-shot.log';
    my @bad = grep { /CONSOLE|Uncaught|Refused to|SyntaxError|TypeError/ }
              split /\n/, $log;
    is(join("\n", @bad), '', 'no console errors');
}

$t->done_testing;
