package LLMRouter::Test;

# Integration-test harness for ngx_http_llm_router_module, modelled on
# nginx-tests' Test::Nginx; core Perl only.  Full usage in the POD at the
# end of this file; in short:
#
#   use FindBin; use lib "$FindBin::Bin/lib";
#   use Test::More;
#   use LLMRouter::Test;
#   my $t = LLMRouter::Test->new;
#   $t->write_file_expand('nginx.conf', $conf);   # %%TEST_GLOBALS%% ...
#   $t->run;
#   my $r = $t->http_post('/v1/chat/completions', { model => 'gpt-4o' });
#   is($r->{status}, 200, 'routed');
#   $t->done_testing;          # or $t->plan(N) up front
#
# Environment knobs:
#   TEST_NGINX_BINARY        nginx binary (default /usr/sbin/nginx)
#   TEST_NGINX_MODULE        module .so for %%LOAD_MODULE%% (default
#                            <repo>/build/ngx_http_llm_router_module.so)
#   TEST_NGINX_LEAVE=1       keep the test directory (its path is printed)
#   TEST_NGINX_CATLOG=1      dump error.log to STDERR at the end
#   TEST_NGINX_VALGRIND=1    run nginx under valgrind (any other value is
#                            taken as extra valgrind options)
#   TEST_NGINX_GLOBALS       text appended to %%TEST_GLOBALS%%
#   TEST_NGINX_GLOBALS_HTTP  text appended to %%TEST_GLOBALS_HTTP%%
#   TEST_NGINX_PRELOAD       a sanitizer runtime to LD_PRELOAD into nginx
#                            (./build.sh test-asan sets it)
#   TEST_REDIS_BINARY        redis-server binary (default redis-server)
#   TEST_NGINX_VERBOSE=1     diag why try_run() skipped or http_raw() failed
# TEST_LEAVE and TEST_CATLOG are accepted as aliases.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(rmtree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More ();
use Test2::API ();
use Time::HiRes qw(alarm sleep time);

use LLMRouter::RESP qw(redis_cmd redis_cmds);

our @EXPORT = qw(redis_cmd redis_cmds json_decode json_encode parse_http
                 eventually);

our $REPO = abs_path(dirname(__FILE__) . '/../../..');
use constant FINISH_TESTS => 3;

my %USED_PORTS;     # every port handed out by this process

###########################################################################
# construction, files, ports

sub new {
    my ($class, %opts) = @_;
    my $leave = $ENV{TEST_NGINX_LEAVE} || $ENV{TEST_LEAVE};
    my $dir = tempdir('llmr-test-XXXXXXXX', TMPDIR => 1, CLEANUP => 0);

    my $module = $ENV{TEST_NGINX_MODULE};
    unless (defined $module) {
        $module = "$REPO/build/ngx_http_llm_router_module.so";
        my $alt = "$REPO/build/nginx/ngx_http_llm_router_module.so";
        $module = $alt if !-e $module && -e $alt;
    }

    my $self = bless {
        workers  => 1,
        binary   => $ENV{TEST_NGINX_BINARY} // '/usr/sbin/nginx',
        module   => $module,
        redis_binary => $ENV{TEST_REDIS_BINARY} // 'redis-server',
        %opts,
        _pid     => $$, _dir => $dir, _leave => $leave,
        _ports   => {}, _daemons => [], _redis => {},
        _log_pos => 0, _allow => [], _problems => [],
        _tmul    => $ENV{TEST_NGINX_VALGRIND} ? 20 : 1,
    }, $class;

    Test::More::diag("test dir: $dir") if $leave;
    return $self;
}

sub testdir { $_[0]{_dir} }
sub module_path { $_[0]{module} }
sub has_module { defined $ENV{TEST_NGINX_MODULE} || -e $_[0]{module} }
sub master_pid { $_[0]{_master} }

sub workers {
    my ($self, $n) = @_;
    $self->{workers} = $n;
    return $self;
}

sub read_file {
    my ($self, $name) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{_dir}/$name";
    open(my $fh, '<:raw', $path) or die "cannot open $path: $!\n";
    local $/;
    my $content = <$fh>;
    return $content // '';
}

sub write_file {
    my ($self, $name, $content) = @_;
    my $path = "$self->{_dir}/$name";
    open(my $fh, '>:raw', $path) or die "cannot create $path: $!\n";
    print $fh $content;
    close $fh or die "cannot write $path: $!\n";
    return $self;
}

sub write_file_expand {
    my ($self, $name, $c) = @_;
    return $self->write_file($name, $self->expand($c));
}

sub expand {
    my ($self, $c) = @_;
    $c =~ s/%%TEST_GLOBALS%%/$self->test_globals/ge;
    $c =~ s/%%TEST_GLOBALS_HTTP%%/$self->test_globals_http/ge;
    $c =~ s/%%LOAD_MODULE%%/$self->load_module_line/ge;
    $c =~ s/%%TESTDIR%%/$self->{_dir}/g;
    $c =~ s/%%PORT_(\d+)%%/$self->port($1)/ge;
    return $c;
}

sub load_module_line {
    my ($self) = @_;
    return "load_module $self->{module};\n" if $self->has_module;
    return "# ngx_http_llm_router_module not built: $self->{module}\n";
}

sub test_globals {
    my ($self) = @_;
    my $d = $self->{_dir};
    my $s = "daemon off;\nmaster_process on;\n"
        . "worker_processes $self->{workers};\n"
        . "pid $d/nginx.pid;\nerror_log $d/error.log debug;\n";
    $s .= "user root;\n" if $> == 0;
    $s .= "$ENV{TEST_NGINX_GLOBALS}\n" if $ENV{TEST_NGINX_GLOBALS};
    return $s;
}

sub test_globals_http {
    my ($self) = @_;
    my $d = $self->{_dir};
    my $s = "access_log $d/access.log;\n"
        . "client_body_temp_path $d/client_body_temp;\n";
    $s .= "${_}_temp_path $d/${_}_temp;\n" for qw(proxy fastcgi uwsgi scgi);
    $s .= "$ENV{TEST_NGINX_GLOBALS_HTTP}\n" if $ENV{TEST_NGINX_GLOBALS_HTTP};
    return $s;
}

# port($key): a free 127.0.0.1 port, stable per key within this object and
# never handed out twice in this process.  A UDP socket on the same number
# is held as a lock (as nginx-tests does) so parallel test files skip it.
sub port {
    my ($self, $key) = @_;
    my $p = $self->{_ports}{$key};
    return $p->{port} if $p;

    for (1 .. 500) {
        my $port = 10000 + int(rand(22000));    # below ip_local_port_range
        next if $USED_PORTS{$port};
        my $lock = IO::Socket::INET->new(Proto => 'udp',
            LocalAddr => "127.0.0.1:$port") or next;
        my $probe = IO::Socket::INET->new(Proto => 'tcp', Listen => 1,
            ReuseAddr => 1, LocalAddr => "127.0.0.1:$port") or next;
        close $probe;
        $USED_PORTS{$port} = 1;
        $self->{_ports}{$key} = { port => $port, lock => $lock };
        return $port;
    }
    die "cannot allocate a port for '$key'\n";
}

# udp_port($key): port()'s number for a UDP server of the test's own (a
# DNS stub): the UDP lock is released for the server to bind.
sub udp_port {
    my ($self, $key) = @_;
    my $port = $self->port($key);
    my $lock = delete $self->{_ports}{$key}{lock};
    close $lock if $lock;
    return $port;
}

# The nginx port the http_* helpers talk to: $t->{port}, else PORT_8080.
sub nginx_port {
    my ($self) = @_;
    return $self->{port} // $self->port(8080);
}

###########################################################################
# polling and process helpers

# eventually($seconds, $code): true as soon as $code returns true, polled
# every 50 ms; false (after a last try) when $seconds pass.  For what
# settles asynchronously: counters written in the log phase, Redis syncs.
sub eventually {
    my ($secs, $code) = @_;
    my $end = Time::HiRes::time() + $secs;
    while (Time::HiRes::time() < $end) {
        return 1 if $code->();
        Time::HiRes::sleep(0.05);
    }
    return $code->() ? 1 : 0;
}

# _poll($seconds, $code): calls $code every 50 ms until it returns true.
sub _poll {
    my ($self, $timeout, $code) = @_;
    my $deadline = time + $timeout;
    while (1) {
        my $r = $code->();
        return $r if $r;
        return $r if time > $deadline;
        sleep 0.05;
    }
}

# _reap($pid, $seconds): the wait status, or undef if still running.
sub _reap {
    my ($self, $pid, $timeout) = @_;
    my $status;
    $self->_poll($timeout, sub {
        my $r = waitpid($pid, WNOHANG);
        $status = $r == $pid ? $? : 0 if $r != 0;
        return $r != 0;
    });
    return $status;
}

sub waitforsocket {
    my ($self, $peer, $timeout) = @_;
    return $self->_poll(($timeout // 5) * $self->{_tmul}, sub {
        IO::Socket::INET->new(PeerAddr => $peer, Proto => 'tcp') ? 1 : 0;
    });
}

sub waitforfile {
    my ($self, $file, $timeout) = @_;
    return $self->_poll($timeout // 5, sub { -e $file });
}

sub _log_tail {
    my ($self, $name, $n) = @_;
    my $text = eval { $self->read_file($name) } // '';
    my @l = split /\n/, $text;
    splice(@l, 0, @l - $n) if @l > $n;
    return @l ? "--- $name (tail) ---\n" . join("\n", @l) . "\n" : '';
}

###########################################################################
# nginx lifecycle

sub _globals_args {
    my ($self, $name) = @_;
    my $conf = eval { $self->read_file($name) } // '';
    my $d = $self->{_dir};
    my $g = '';
    $g .= "pid $d/nginx.pid; " unless $conf =~ /^\s*pid\s/m;
    $g .= "error_log $d/error.log debug; " unless $conf =~ /^\s*error_log\s/m;
    $g .= "daemon off; " unless $conf =~ /^\s*daemon\s/m;
    $g .= "user root; " if $> == 0 && $conf !~ /^\s*user\s/m;
    return $g eq '' ? () : ('-g', $g);
}

sub _nginx_cmd {
    my ($self, $conf, @extra) = @_;
    return ($self->{binary}, '-p', "$self->{_dir}/", '-c', $conf,
            '-e', 'error.log', @extra, $self->_globals_args($conf));
}

sub _valgrind_cmd {
    my ($self) = @_;
    my $v = $ENV{TEST_NGINX_VALGRIND} or return ();
    my @extra = $v =~ /^\s*1?\s*$/ ? () : split(' ', $v);
    return ('valgrind', '--trace-children=yes', '--error-exitcode=99',
            '--num-callers=30',
            "--log-file=$self->{_dir}/valgrind.%p.log", @extra);
}

sub run {
    my ($self, $conf) = @_;
    $self->write_file_expand('nginx.conf', $conf) if defined $conf;
    die "nginx is already running\n" if $self->{_master};

    my $d = $self->{_dir};
    unlink "$d/nginx.pid";
    my @cmd = ($self->_valgrind_cmd, $self->_nginx_cmd('nginx.conf'));

    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        open(STDOUT, '>>', "$d/nginx.stderr");
        open(STDERR, '>&', \*STDOUT);
        _sanitizer_env();
        exec { $cmd[0] } @cmd
            or print STDERR "exec $cmd[0]: $!\n";
        POSIX::_exit(127);
    }

    my $status;
    my $ok = $self->_poll(10 * $self->{_tmul}, sub {
        my $r = waitpid($pid, WNOHANG);
        if ($r != 0) { $status = $?; return -1 }
        return $self->read_file('nginx.pid') =~ /^\d+\s*$/ ? 1 : 0
            if -s "$d/nginx.pid";
        return 0;
    });

    if (!$ok || $ok < 0) {
        unless (defined $status) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
        }
        die "nginx failed to start"
            . (defined $status ? " (wait status $status)" : ' (timeout)')
            . ":\n" . $self->_log_tail('error.log', 40)
            . $self->_log_tail('nginx.stderr', 20);
    }

    $self->{_master} = $pid;
    return $self;
}

# TEST_NGINX_PRELOAD: a sanitizer runtime (libasan.so) for an instrumented
# module loaded by the uninstrumented nginx binary.
sub _sanitizer_env {
    my $lib = $ENV{TEST_NGINX_PRELOAD} or return;
    $ENV{LD_PRELOAD} = $lib;
    $ENV{ASAN_OPTIONS} //= 'detect_leaks=0';
    $ENV{UBSAN_OPTIONS} //= 'print_stacktrace=1';
}

sub try_run {
    my ($self, $message) = @_;
    eval { $self->run; 1 } and return $self;
    Test::More::diag($@) if $ENV{TEST_NGINX_VERBOSE};
    Test::More::plan(skip_all => $message);
}

# test_config([$conf]): `nginx -t` on nginx.conf (or on $conf, expanded),
# using a copy whose error.log is test_config.log so that the expected
# [emerg] lines never reach error.log.  Returns (exit code, output).
sub test_config {
    my ($self, $conf) = @_;
    my $d = $self->{_dir};
    my $c = defined $conf ? $self->expand($conf)
                          : $self->read_file('nginx.conf');
    $c =~ s{\Q$d\E/error\.log}{$d/test_config.log}g;
    $self->write_file('nginx-t.conf', $c);

    my @cmd = $self->_nginx_cmd('nginx-t.conf', '-t');
    s{\Q$d\E/error\.log}{$d/test_config.log}g for @cmd;
    $_ = 'test_config.log' for grep { $_ eq 'error.log' } @cmd;

    my $out = '';
    my $pid = open(my $fh, '-|') // die "fork: $!\n";
    if ($pid == 0) {
        open(STDERR, '>&', \*STDOUT);
        _sanitizer_env();
        exec { $cmd[0] } @cmd
            or print "exec $cmd[0]: $!\n";
        POSIX::_exit(127);
    }
    { local $/; $out = <$fh> // '' }
    close $fh;
    return ($? >> 8, $out);
}

sub worker_pids {
    my ($self) = @_;
    my $master = $self->{_master} or return ();
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open(my $fh, '<', $stat) or next;
        my $line = <$fh> // next;
        my ($pid) = $line =~ /^(\d+)/ or next;
        my @f = split ' ', substr($line, rindex($line, ')') + 2);
        push @pids, $pid if $f[1] == $master && $f[0] ne 'Z';
    }
    return sort { $a <=> $b } @pids;
}

sub signal {
    my ($self, $sig, @pids) = @_;
    @pids = ($self->{_master} // die "nginx not running\n") unless @pids;
    return kill $sig, @pids;
}

# pids_gone(\@pids, $seconds): true once none of @pids is alive.
sub pids_gone {
    my ($self, $pids, $timeout) = @_;
    return $self->_poll(($timeout // 5) * $self->{_tmul},
                        sub { !grep { kill 0, $_ } @$pids });
}

# reload([$conf]): HUP, then wait for a worker not in the old set.
# Returns 1 on success, 0 if nginx refused the new configuration (an
# [emerg] appeared) or no new worker showed up in time.  Old workers get
# up to 5 s to exit; the pids of any still alive are in $t->{old_workers}.
sub reload {
    my ($self, $conf) = @_;
    $self->write_file_expand('nginx.conf', $conf) if defined $conf;
    my $master = $self->{_master} or die "nginx not running\n";
    my @old = $self->worker_pids;
    my %old = map { $_ => 1 } @old;
    my $pos = -s "$self->{_dir}/error.log" // 0;

    kill 'HUP', $master;
    my $ok = $self->_poll(10 * $self->{_tmul}, sub {
        return -1 if $self->_read_from($pos) =~ /\[emerg\]/;
        return scalar grep { !$old{$_} } $self->worker_pids;
    });
    return 0 if !$ok || $ok < 0;

    $self->pids_gone(\@old, 5);
    $self->{old_workers} = [ grep { kill 0, $_ } @old ];
    return 1;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{_master} or return $self;
    my $t = $self->{_tmul};

    kill 'QUIT', $pid;
    my $st = $self->_reap($pid, 30 * $t);
    unless (defined $st) {
        push @{$self->{_problems}}, "nginx master $pid ignored QUIT for "
            . 30 * $t . ' s';
        kill 'TERM', $pid;
        $st = $self->_reap($pid, 5 * $t);
    }
    unless (defined $st) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
        $st = $?;
    }
    push @{$self->{_problems}}, "nginx master exited with wait status $st"
        if $st;
    $self->{master_status} = $st;
    return $self;
}

###########################################################################
# daemons: mocks, redis

# run_daemon(\&code, @args) or run_daemon($cmd, @args): forks a child in
# its own process group, returns its pid; killed (whole group) by
# stop_daemon()/stop_daemons()/finish().
sub run_daemon {
    my ($self, $code, @args) = @_;
    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        setpgrp(0, 0);
        if (ref $code eq 'CODE') {
            eval { $code->(@args); 1 } or print STDERR "daemon: $@";
            POSIX::_exit(0);
        }
        exec { $code } $code, @args
            or print STDERR "exec $code: $!\n";
        POSIX::_exit(127);
    }
    setpgrp($pid, $pid);
    push @{$self->{_daemons}}, $pid;
    return $pid;
}

sub stop_daemon {
    my ($self, $pid) = @_;
    $self->{_daemons} = [ grep { $_ != $pid } @{$self->{_daemons}} ];
    kill('TERM', -$pid) or kill('TERM', $pid);
    return $self if defined $self->_reap($pid, 5 * $self->{_tmul});
    kill('KILL', -$pid) or kill('KILL', $pid);
    waitpid($pid, 0);
    return $self;
}

sub stop_daemons {
    my ($self) = @_;
    $self->stop_daemon($_) for reverse @{$self->{_daemons}};
    $self->{_redis} = {};
    return $self;
}

# start_redis(port => P, args => [...], appendonly => 'yes', ...): a real
# redis-server in <testdir>/redis-P; other keys become --key value.
# Waits for PING and returns the port.
sub start_redis {
    my ($self, %o) = @_;
    my $port = delete $o{port} // $self->port(6379);
    my @extra = @{ delete $o{args} // [] };
    my $dir = "$self->{_dir}/redis-$port";
    mkdir $dir;

    my %opt = (port => $port, bind => '127.0.0.1', save => '',
               appendonly => 'no', dir => $dir, daemonize => 'no',
               logfile => "$dir/redis.log", %o);
    my @args = map { ("--$_", $opt{$_}) } sort keys %opt;
    $self->{_redis}{$port} = $self->run_daemon($self->{redis_binary},
                                               @args, @extra);

    my $up = $self->_poll(10 * $self->{_tmul}, sub {
        my $r = eval { redis_cmd($port, 'PING') };
        return defined $r && !ref $r && $r eq 'PONG';
    });
    die "redis-server on port $port did not start\n"
        . $self->_log_tail("$dir/redis.log", 20) unless $up;
    return $port;
}

sub redis_pid { $_[0]{_redis}{$_[1]} }

sub stop_redis {
    my ($self, $port) = @_;
    my $pid = delete $self->{_redis}{$port} or return $self;
    return $self->stop_daemon($pid);
}

# start_resp_stub(port => P, delay => s, reply => "+OK\r\n" | \&code,
# close => 1): a fake Redis that answers every command (PING -> PONG)
# after `delay` seconds, or closes the connection when close => 1.
# \&code gets the command as an array ref and returns raw RESP text.
sub start_resp_stub {
    my ($self, %o) = @_;
    my $port = $o{port} // $self->port('resp_stub');
    my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port",
        Listen => 64, ReuseAddr => 1, Proto => 'tcp')
        or die "resp stub: cannot listen on $port: $!\n";
    my $pid = $self->run_daemon(sub {
        $SIG{CHLD} = 'IGNORE';
        while (1) {
            my $c = $l->accept or next;
            my $kid = fork() // next;
            if ($kid == 0) { _resp_stub_conn($c, \%o); POSIX::_exit(0) }
            close $c;
        }
    });
    close $l;
    $self->{_redis}{$port} = $pid;
    return $port;
}

sub _resp_stub_conn {
    my ($c, $o) = @_;
    binmode $c;
    $c->autoflush(1);
    while (my $cmd = eval { LLMRouter::RESP::resp_read($c) }) {
        return if $o->{close};
        sleep $o->{delay} if $o->{delay};
        my $r = ref $o->{reply} eq 'CODE' ? $o->{reply}->($cmd)
              : uc($cmd->[0] // '') eq 'PING' ? "+PONG\r\n"
              : $o->{reply} // "+OK\r\n";
        print $c $r or return;
    }
}

###########################################################################
# HTTP

sub json_decode {
    my ($text) = @_;
    return undef unless defined $text;
    return eval { JSON::PP->new->utf8->allow_nonref->decode($text) };
}

sub json_encode {
    my ($data) = @_;
    return JSON::PP->new->utf8->canonical->allow_nonref->encode($data);
}

# http_request($method, $uri, %opts): %opts keys port, timeout, body
# (string, or a ref encoded as JSON), chunked (send the body with
# Transfer-Encoding: chunked), chunk_size (default 4096), host (Host
# header, also taken from a Host header; the connection still goes to
# 127.0.0.1), mark (0: do not move
# the error-log mark), headers (hash ref); all other keys are headers.
sub http_request {
    my ($self, $method, $uri, %o) = @_;
    my $port = delete $o{port} // $self->nginx_port;
    my $timeout = (delete $o{timeout} // 10) * $self->{_tmul};
    my $body = delete $o{body};
    my $chunked = delete $o{chunked};
    my $csize = delete $o{chunk_size} || 4096;
    my $host = delete $o{host} // '127.0.0.1';
    my $mark = delete $o{mark} // 1;
    my %h = (%{ delete $o{headers} // {} }, %o);
    ($host) = map { delete $h{$_} } grep { lc eq 'host' } keys %h
        if grep { lc eq 'host' } keys %h;       # HTTP::Tiny refuses Host

    $self->error_log_mark if $mark;
    my $ua = HTTP::Tiny->new(timeout => $timeout, keep_alive => 0,
        agent => 'llmr-test/1', proxy => undef, http_proxy => undef,
        https_proxy => undef);
    my %args = (headers => \%h, peer => '127.0.0.1');
    if (defined $body) {
        $body = json_encode($body) if ref $body;
        $h{'Content-Type'} = 'application/json'
            unless grep { lc eq 'content-type' } keys %h;
        my @parts = map { substr($body, $_ * $csize, $csize) }
                        0 .. int((length($body) - 1) / $csize);
        $args{content} = $chunked ? sub { shift @parts } : $body;
    }
    my $url = $uri =~ m{^https?://} ? $uri : "http://$host:$port$uri";
    my $r = $ua->request($method, $url, \%args);
    $r->{json} = json_decode($r->{content}) if length($r->{content} // '');
    return $r;
}

sub http_get {
    my ($self, $uri, %o) = @_;
    return $self->http_request('GET', $uri, %o);
}

sub http_post {
    my ($self, $uri, $body, %o) = @_;
    return $self->http_request('POST', $uri, %o, body => $body);
}

# http_raw($text, %opts): sends $text as is, then (after `sleep` seconds)
# `body` (a string, or an array ref of parts sent `sleep` apart); returns
# the raw response, read until the server closes (so send
# "Connection: close" with HTTP/1.1).  aborted => 1 closes the socket
# instead and returns ''; start => 1 returns the socket for http_end().
# Also port, timeout, mark, socket (reuse a connected socket).
# Returns undef on connect errors or timeouts.
sub http_raw {
    my ($self, $text, %o) = @_;
    my $port = $o{port} // $self->nginx_port;
    my $s = $o{socket};
    $self->error_log_mark if $o{mark} // 1;

    local $SIG{PIPE} = 'IGNORE';
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm(($o{timeout} // 10) * $self->{_tmul});
    my $ok = eval {
        $s //= IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                     Proto => 'tcp')
            or die "connect 127.0.0.1:$port: $!\n";
        binmode $s;
        my @parts = ref $o{body} ? @{$o{body}} : ($o{body} // ());
        for my $data ($text, @parts) {
            _write_all($s, $data);
            sleep $o{sleep} if $o{sleep};
        }
        1;
    };
    alarm(0);
    unless ($ok) {
        Test::More::diag("http_raw: $@") if $ENV{TEST_NGINX_VERBOSE};
        return undef;
    }
    if ($o{aborted}) { close $s; return '' }
    return $s if $o{start};
    return $self->http_end($s, %o);
}

sub _write_all {
    my ($s, $data) = @_;
    while (length $data) {
        my $n = syswrite($s, $data) // die "write: $!\n";
        substr($data, 0, $n) = '';
    }
}

sub http_end {
    my ($self, $s, %o) = @_;
    my $reply = '';
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm(($o{timeout} // 10) * $self->{_tmul});
    my $ok = eval {
        1 while sysread($s, $reply, 65536, length $reply);
        1;
    };
    alarm(0);
    close $s;
    return $ok ? $reply : undef;
}

# parse_http($raw): { status, headers (lower-case names, repeated headers
# joined with ", "), content (chunked decoded) } or undef.
sub parse_http {
    my ($raw) = @_;
    return undef unless defined $raw
        && $raw =~ /\A(HTTP\/\d\.\d) (\d{3})[^\r\n]*\r?\n(.*?)\r?\n\r?\n/s;
    my ($status, $head) = ($2, $3);
    my $body = substr($raw, $+[0]);
    my %h;
    for (split /\r?\n/, $head) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $content = '';
        while ($body =~ /\G([0-9a-fA-F]+)[^\r\n]*\r\n/gc) {
            my $len = hex $1;
            last if $len == 0;
            $content .= substr($body, pos($body), $len);
            pos($body) += $len + 2;
        }
        $body = $content;
    }
    return { status => $status, headers => \%h, content => $body };
}

###########################################################################
# error.log

sub _read_from {
    my ($self, $pos) = @_;
    open(my $fh, '<:raw', "$self->{_dir}/error.log") or return '';
    seek($fh, $pos, 0);
    local $/;
    my $text = <$fh> // '';
    $text =~ s/[^\n]*\z//;          # only complete lines
    return $text;
}

# The window the checks look at starts at the mark, which the http_*
# helpers move to the end of error.log before each request (as
# Test::Nginx's $ErrLogFilePos); error_log_mark() moves it explicitly.
sub error_log_mark {
    my ($self) = @_;
    $self->{_log_pos} = -s "$self->{_dir}/error.log" // 0;
    return $self;
}

# error_log_lines_since([qr//]): lines since the mark (optionally only the
# matching ones); moves the mark past them.
sub error_log_lines_since {
    my ($self, $re) = @_;
    my $text = $self->_read_from($self->{_log_pos});
    $self->{_log_pos} += length $text;
    my @lines = split /\n/, $text;
    return defined $re ? grep { $_ =~ $re } @lines : @lines;
}

# error_log_like(qr//, $name, timeout => s): waits up to 5 s for a match.
sub error_log_like {
    my ($self, $re, $name, %o) = @_;
    my $text = '';
    $self->_poll(($o{timeout} // 5) * $self->{_tmul}, sub {
        $text = $self->_read_from($self->{_log_pos});
        return $text =~ $re;
    });
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $ok = Test::More::like($text, $re, $name // "error.log like $re");
    return $ok;
}

# no_error_log(qr//, $name): waits until error.log stops growing (at most
# 1 s), then checks the window.
sub no_error_log {
    my ($self, $re, $name) = @_;
    my $path = "$self->{_dir}/error.log";
    my $size = -1;
    $self->_poll(1 * $self->{_tmul}, sub {
        my $now = -s $path // 0;
        return 1 if $now == $size;
        $size = $now;
        sleep 0.05;
        return 0;
    });
    my @bad = grep { $_ =~ $re }
              split /\n/, $self->_read_from($self->{_log_pos});
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return Test::More::is(join("\n", @bad), '',
                          $name // "error.log has no $re");
}

# allow_log(qr//): such lines do not fail the [alert]/[emerg]/[crit]
# check of finish() (for tests that provoke them on purpose).
sub allow_log {
    my ($self, $re) = @_;
    push @{$self->{_allow}}, $re;
    return $self;
}

# kill_workers(): SIGKILL to every worker, for tests of what a respawned
# worker does.  The master's lines about exactly these pids ("worker
# process PID exited on signal 9") are then not counted as crashes; any
# other crash still is.
sub kill_workers {
    my ($self) = @_;
    my @pids = $self->worker_pids;
    push @{$self->{_killed}}, @pids;
    kill 'KILL', @pids;
    return scalar @pids;
}

###########################################################################
# teardown

sub plan {
    my ($self, $n) = @_;
    Test::More::plan(tests => $n + FINISH_TESTS);
    return $self;
}

sub done_testing {
    my ($self) = @_;
    $self->finish;
    Test::More::done_testing();
}

sub _checks {
    my ($self) = @_;
    my $d = $self->{_dir};
    my $log = eval { $self->read_file('error.log') } // '';
    my $err = eval { $self->read_file('nginx.stderr') } // '';

    my %killed = map { $_ => 1 } @{$self->{_killed} // []};
    $log = join '', grep {
        !(/worker process (\d+) exited on signal 9$/ && $killed{$1})
    } split /^/, $log;

    my @alerts = grep { my $l = $_; !grep { $l =~ $_ } @{$self->{_allow}} }
                 $log =~ /^.*\[(?:alert|emerg|crit)\].*$/mg;
    my $crash = qr/Sanitizer|runtime error:|segfault|signal 11
                  |exited\ on\ signal|core\ dumped/x;
    my @crash = ((grep { /$crash/ } split /\n/, "$log\n$err"),
                 @{$self->{_problems}});

    my @vg;
    for my $f (glob "$d/valgrind.*.log") {
        my $text = eval { $self->read_file($f) } // '';
        push @vg, "$f: $1" if $text =~ /(ERROR SUMMARY: [1-9]\d* errors.*)/;
    }
    return (['no [alert], [emerg] or [crit] in error.log', @alerts],
            ['no crash or sanitizer report', @crash],
            ['no valgrind errors', @vg]);
}

# finish(): stops nginx and the daemons, then adds FINISH_TESTS (3) tests
# on error.log; called by done_testing() and, if needed, by DESTROY.
sub finish {
    my ($self) = @_;
    return $self if $self->{_finished}++;
    $self->stop;
    $self->stop_daemons;

    my @checks = $self->_checks;
    # after done_testing() (or in global destruction) no test can be added
    my $ended = eval { Test2::API::test2_stack()->top->ended ? 1 : 0 } // 1;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if ($ended) {
        for my $c (@checks) {
            my ($name, @bad) = @$c;
            next unless @bad;
            print STDERR "# FAILED after the end of the tests: $name:\n"
                . join("\n", map { "#   $_" } @bad) . "\n";
            $self->{_late_failure} = 1 unless $name =~ /valgrind/
                                              && !$ENV{TEST_NGINX_VALGRIND};
        }
    } else {
        for my $c (@checks) {
            my ($name, @bad) = @$c;
            if ($name =~ /valgrind/ && !$ENV{TEST_NGINX_VALGRIND}) {
                Test::More->builder->skip('TEST_NGINX_VALGRIND not set');
                next;
            }
            Test::More::is(join("\n", @bad), '', $name);
        }
    }

    if ($ENV{TEST_NGINX_CATLOG} || $ENV{TEST_CATLOG}) {
        print STDERR eval { $self->read_file('error.log') } // '';
    }
    return $self;
}

# shutdown(): stops nginx and the daemons without adding tests (for
# scripts that use the harness outside a test, like examples/demo.pl).
sub shutdown {
    my ($self) = @_;
    $self->{_finished} = 1;
    $self->stop;
    $self->stop_daemons;
    return $self;
}

# DESTROY: finish() if not done yet; problems found after the end of the
# tests make the script exit non-zero.
sub DESTROY {
    my ($self) = @_;
    return if $self->{_pid} != $$;
    {
        local ($?, $!, $@);
        eval { $self->finish; 1 } or print STDERR "# finish: $@";
        rmtree($self->{_dir}) unless $self->{_leave};
    }
    return unless $self->{_late_failure};
    eval { Test2::API::test2_stack()->top->is_passing(0) };
    $? ||= 1;
}

1;

__END__

=head1 NAME

LLMRouter::Test - nginx integration-test harness for ngx_llm_router

=head1 CONFIGURATION

C<write_file_expand()> and C<expand()> substitute:

  %%TESTDIR%%           the test directory
  %%PORT_n%%            a free port, the same for the same n (port(n))
  %%LOAD_MODULE%%       "load_module <module>;" when the .so exists or
                        TEST_NGINX_MODULE is set, else a comment
  %%TEST_GLOBALS%%      daemon off; master_process on; worker_processes
                        (workers(), default 1); pid; error_log ... debug;
                        user root (when root); TEST_NGINX_GLOBALS
  %%TEST_GLOBALS_HTTP%% access_log and every *_temp_path under the test
                        dir; TEST_NGINX_GLOBALS_HTTP

The C<events {}> block is left to the test.  Whatever the config lacks of
pid, error_log, daemon off and user root is passed with C<-g>, so Debian's
compiled-in paths are never used.

=head1 METHODS

  new(%opts)                    workers => n, port => nginx port, binary,
                                module, redis_binary
  testdir  module_path  has_module  master_pid  nginx_port
  workers($n)                   worker_processes for %%TEST_GLOBALS%%
  port($key)                    free 127.0.0.1 port, stable per key
  read_file($name)  write_file($name, $text)  write_file_expand($name, $c)
  expand($c)  load_module_line  test_globals  test_globals_http

  run([$conf])                  start nginx; dies with error.log tail
  try_run($skip_message)        run, or skip_all
  test_config([$conf])          nginx -t => (exit code, output)
  reload([$conf])               HUP; 1 when new workers run, 0 if refused
  stop                          QUIT, 30 s, TERM, KILL
  worker_pids  signal($sig, [@pids])  pids_gone(\@pids, [$s])
  waitforsocket('127.0.0.1:port', [$s])  waitforfile($path, [$s])

  run_daemon(\&code, @args) | run_daemon($cmd, @args)  => pid
  stop_daemon($pid)  stop_daemons
  start_redis(port => P, args => [...], key => value...)  => port
  stop_redis($port)  redis_pid($port)
  start_resp_stub(port => P, delay => s, reply => $raw|\&code,
                  close => 1)  => port

  http_request($method, $uri, %opts)  http_get($uri, %opts)
  http_post($uri, $body, %opts)       => HTTP::Tiny hash + {json}
      opts: port, timeout, body, chunked, chunk_size, host, mark,
            headers => {...}; other keys are request headers
  http_raw($text, %opts)        raw response text (or socket, '', undef)
      opts: body => $s|[@parts], sleep, aborted, start, port, timeout,
            mark, socket
  http_end($socket)             read a started request to EOF

  error_log_mark  error_log_lines_since([qr//])
  error_log_like(qr//, $name, [timeout => s])  no_error_log(qr//, $name)
  allow_log(qr//)

  plan($n)  done_testing  finish

=head1 FUNCTIONS (exported)

  redis_cmd($port, @cmd)  redis_cmds($port, [@cmd], ...)
  json_decode($text)  json_encode($data)  parse_http($raw)

=head1 TEARDOWN

C<finish()> (from C<done_testing()>, or from DESTROY) stops nginx and all
daemons and adds three tests: no [alert]/[emerg]/[crit] in error.log
(minus allow_log() patterns); no Sanitizer, "runtime error:", segfault,
"signal 11", "exited on signal" or "core dumped" in error.log and
nginx.stderr, and a clean master exit; no valgrind errors (skipped
without TEST_NGINX_VALGRIND).  Use C<< $t->plan(N) >> (N own tests) or
C<< $t->done_testing >>; a plain done_testing() leaves the checks to
DESTROY, which can then only print failures and exit non-zero.

=head1 VALGRIND

TEST_NGINX_VALGRIND=1 runs the master as C<valgrind --trace-children=yes
--error-exitcode=99 --num-callers=30 --log-file=TESTDIR/valgrind.%p.log
nginx ...>; workers are forks and are traced too.  Any other value is
appended as extra options, e.g.
C<TEST_NGINX_VALGRIND='--leak-check=full --errors-for-leak-kinds=definite'>.
Timeouts are multiplied by 20.  A valgrind run on the harness self-test
takes a few seconds.

=cut
