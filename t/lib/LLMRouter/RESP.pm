package LLMRouter::RESP;

# Tiny Redis protocol (RESP2, plus the common RESP3 types) client and
# codec for the integration tests, in core Perl only.
#
#   use LLMRouter::RESP qw(redis_cmd redis_cmds);
#
#   redis_cmd($port, 'SET', 'k', 'v');         # 'OK'
#   redis_cmd($port, 'GET', 'missing');        # undef
#   redis_cmd($port, 'BOGUS');                 # { error => 'ERR unknown ...' }
#   my @r = redis_cmds($port, ['MULTI'], ['INCR', 'n'], ['EXEC']);
#
# Reply mapping: simple string -> string, error -> { error => 'TEXT' },
# integer -> number, bulk -> string (nil -> undef), array -> array ref
# (nil -> undef, nested arrays nest).  RESP3: null -> undef, boolean ->
# 1/0, double and big number -> string/number, map -> hash ref, set and
# push -> array ref, verbatim -> its text; attributes are skipped.
#
# Every call connects to 127.0.0.1:$port, sends the commands, reads the
# replies and closes; the whole exchange is bounded by an alarm (default
# 5 s, or $LLMRouter::RESP::TIMEOUT) and dies on timeout or connection
# errors.

use strict;
use warnings;

use Exporter qw(import);
use IO::Socket::INET;
use Time::HiRes qw(alarm);

our @EXPORT_OK = qw(redis_cmd redis_cmds resp_encode resp_read);
our $TIMEOUT = 5;

sub resp_encode {
    my (@args) = @_;
    my $s = '*' . scalar(@args) . "\r\n";
    for my $arg (@args) {
        my $v = defined $arg ? $arg : '';
        utf8::encode($v) if utf8::is_utf8($v);
        $s .= '$' . length($v) . "\r\n$v\r\n";
    }
    return $s;
}

sub _line {
    my ($fh) = @_;
    local $/ = "\r\n";
    my $line = <$fh>;
    die "redis: connection closed\n" unless defined $line;
    $line =~ s/\r\n\z// or die "redis: truncated line\n";
    return $line;
}

sub _bytes {
    my ($fh, $n) = @_;
    my $buf = '';
    while (length($buf) < $n) {
        my $got = read($fh, $buf, $n - length($buf), length($buf));
        die "redis: connection closed\n" unless $got;
    }
    return $buf;
}

# Reads one reply from a (buffered) handle.
sub resp_read {
    my ($fh) = @_;
    my $line = _line($fh);
    my ($type, $v) = (substr($line, 0, 1), substr($line, 1));

    return $v if $type eq '+';
    return { error => $v } if $type eq '-';
    return 0 + $v if $type eq ':';
    return $v if $type eq ',' || $type eq '(';
    return undef if $type eq '_';
    return $v eq 't' ? 1 : 0 if $type eq '#';

    if ($type eq '$' || $type eq '=' || $type eq '!') {
        return undef if $v < 0;
        my $data = substr(_bytes($fh, $v + 2), 0, $v);
        $data =~ s/\A...:// if $type eq '=';
        return $type eq '!' ? { error => $data } : $data;
    }
    if ($type eq '*' || $type eq '~' || $type eq '>') {
        return undef if $v < 0;
        return [ map { resp_read($fh) } 1 .. $v ];
    }
    if ($type eq '%') {
        my %h = map { (resp_read($fh), resp_read($fh)) } 1 .. $v;
        return \%h;
    }
    if ($type eq '|') {
        resp_read($fh) for 1 .. 2 * $v;
        return resp_read($fh);
    }
    die "redis: unknown reply type '$type'\n";
}

# redis_cmds($port, [cmd, args...], ...): pipelines the commands and
# returns the list of replies.
sub redis_cmds {
    my ($port, @cmds) = @_;
    my @replies;

    local $SIG{ALRM} = sub { die "redis: timeout on port $port\n" };
    alarm($TIMEOUT);
    my $ok = eval {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Proto => 'tcp')
            or die "redis: cannot connect to 127.0.0.1:$port: $!\n";
        binmode $s;
        $s->autoflush(1);
        print $s join('', map { resp_encode(@$_) } @cmds)
            or die "redis: write: $!\n";
        push @replies, resp_read($s) for @cmds;
        close $s;
        1;
    };
    alarm(0);
    die $@ unless $ok;
    return @replies;
}

sub redis_cmd {
    my ($port, @args) = @_;
    my ($reply) = redis_cmds($port, \@args);
    return $reply;
}

1;
