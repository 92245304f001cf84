#!/usr/bin/perl

# ./build.sh deb: the Debian packages built by Debian's own tooling, installed
# into the system nginx with apt-get, the module enabled the Debian way
# (modules-enabled), examples/nginx.conf run on the installed module and a
# request routed; then the packages removed and purged, leaving nothing.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use LLMRouter::Test;
use LLMRouter::MockLLM;

my $repo = "$FindBin::Bin/..";
my $so = '/usr/lib/nginx/modules/ngx_http_llm_router_module.so';
my $avail = '/usr/share/nginx/modules-available/mod-http-llm-router.conf';
my $enabled = '/etc/nginx/modules-enabled/50-mod-http-llm-router.conf';
my @pkgs = qw(libnginx-mod-http-llm-router llmr);

if ($> != 0) {
    plan tests => 1;
    fail('t/30-deb.t needs root to install the packages');
    exit 1;
}

$ENV{DEBIAN_FRONTEND} = 'noninteractive';

sub sh {
    my $out = `@_ 2>&1`;
    return ($? >> 8, $out);
}

sub installed {
    my ($pkg) = @_;
    my ($rc, $out) = sh("dpkg-query -W -f='\${Status}' $pkg");
    return $rc == 0 && $out =~ /install ok installed/;
}

# a test that died half-way leaves nothing behind for the next run
sh("apt-get purge -y -q @pkgs");

# the packages

my ($rc, $out) = sh("$repo/build.sh deb");
is($rc, 0, './build.sh deb succeeds') or diag $out;

my ($version) = `dpkg-parsechangelog -l $repo/debian/changelog -S Version`
    =~ /(\S+)/;
my $deb = "$repo/build/deb/libnginx-mod-http-llm-router_${version}_amd64.deb";
my $tool = "$repo/build/deb/llmr_${version}_amd64.deb";

ok(-f $deb, "libnginx-mod-http-llm-router_${version}_amd64.deb built");
ok(-f $tool, "llmr_${version}_amd64.deb built");

# Depends: the exact nginx ABI it was built for, as Debian's own modules

my ($abi) = `cat /usr/share/nginx/src/debian/libnginx-mod.abisubstvars`
    =~ /^nginx:abi=(\S+)/m;
($rc, $out) = sh("dpkg-deb -f $deb Depends");
like($out, qr/(^|, )\Q$abi\E(,|$)/m, "the module depends on $abi");
($rc, $out) = sh("dpkg-deb -c $deb");
like($out, qr{\./usr/lib/nginx/modules/ngx_http_llm_router_module\.so$}m,
     'the module in /usr/lib/nginx/modules');
like($out, qr{\./usr/share/nginx/modules-available/mod-http-llm-router\.conf$}m,
     'its load file in /usr/share/nginx/modules-available');

# installed with apt-get into the system nginx: enabled, nginx -t passes

($rc, $out) = sh("apt-get install -y -q --no-install-recommends $deb $tool");
is($rc, 0, 'apt-get install ./...deb') or diag $out;
ok(installed($_), "$_ installed") for @pkgs;
ok(-f $so, "$so installed");
is(readlink($enabled), $avail, 'the module is enabled (modules-enabled)');
like(`cat $avail`, qr{^load_module modules/ngx_http_llm_router_module\.so;}m,
     'its load file loads it');

# the system's own configuration (which includes modules-enabled) loads it
my $tmp = LLMRouter::Test->new;
my $td = $tmp->testdir;
($rc, $out) = sh("/usr/sbin/nginx -t -e $td/sys.log");
is($rc, 0, 'nginx -t on the system configuration with the module enabled')
    or diag $out;
($rc, $out) = sh("/usr/sbin/nginx -T -e $td/sys.log");
like($out, qr{^load_module modules/ngx_http_llm_router_module\.so;}m,
     'the system configuration loads it');

($rc, $out) = sh("/usr/bin/llmr version");
(my $upstream = $version) =~ s/-[^-]*$//;
like($out, qr/^llmr \Q$upstream\E$/m, 'llmr installed');

# examples/nginx.conf as it is, on the installed module: its load_module
# line names /usr/lib/nginx/modules; only ports and log paths move

my $t = LLMRouter::Test->new;
my $conf = $t->read_file("$repo/examples/nginx.conf");

like($conf, qr{^load_module \Q$so\E;}m, 'examples/nginx.conf loads ' . $so);
$conf =~ s{^worker_processes .*$}{%%TEST_GLOBALS%%}m;
$conf =~ s{^(http \{)}{$1\n    %%TEST_GLOBALS_HTTP%%}m;
$conf =~ s{/var/log/nginx/}{%%TESTDIR%%/}g;
$conf =~ s{127\.0\.0\.1:8080}{127.0.0.1:%%PORT_8080%%};
$conf =~ s{127\.0\.0\.1:(900\d)}{127.0.0.1:%%PORT_$1%%}g;

my %mock = (9001 => 'cheap', 9002 => 'mid', 9003 => 'big');
start_mock($t, name => $mock{$_}, port => $t->port($_), usage => '0,0')
    for sort keys %mock;

$t->run($conf);

my $r = $t->http_post('/v1/chat/completions', json_encode({
    model => 'auto',
    messages => [ { role => 'user', content => 'Hi there! How are you?' } ],
}), port => $t->port(8080));
is($r->{status}, 200, 'a request routed through the installed module');
is($r->{headers}{'x-llm-model'}, 'cheap-model', 'a greeting: the cheap model');

$t->stop;

# removed: the module gone, the link set aside as Debian does; purged:
# nothing left

($rc, $out) = sh("apt-get remove -y -q @pkgs");
is($rc, 0, 'apt-get remove') or diag $out;
ok(!-e $so, 'the module removed');
ok(!-e $enabled && -l "$enabled.removed",
   'the enabled link set aside on remove');
ok(!-e '/usr/bin/llmr', 'llmr removed');

($rc, $out) = sh("apt-get purge -y -q @pkgs");
is($rc, 0, 'apt-get purge') or diag $out;
ok(!-l "$enabled.removed" && !-e $enabled, 'nothing left in modules-enabled');
ok(!installed($_), "$_ gone") for @pkgs;

($rc, $out) = sh("/usr/sbin/nginx -t -e $td/sys.log");
is($rc, 0, 'the system nginx configuration still passes nginx -t')
    or diag $out;

done_testing;
