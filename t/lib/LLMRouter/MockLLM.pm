package LLMRouter::MockLLM;

# A fake LLM provider (the outside world) for the integration tests: an
# HTTP/1.0 and HTTP/1.1 server, one forked child per connection, closing
# after each response.  It answers in the provider format of the path:
#
#   .../messages                         Anthropic message
#   ...:generateContent                  Gemini (usageMetadata)
#   ...:streamGenerateContent[?alt=sse]  Gemini stream (SSE or JSON array)
#   .../embeddings                       OpenAI embeddings
#   GET .../models                       OpenAI model list
#   anything else                        OpenAI chat completion
#
# and records what it received.  Every response carries
#   X-Mock-Name, X-Mock-Model (body "model" or "none"), X-Mock-Path,
#   X-Mock-Uri, X-Mock-Method, X-Mock-Body-Length, X-Mock-Body-SHA1,
#   X-Mock-Content-Length (received header or "none"),
#   X-Mock-Transfer-Encoding (or "none"), X-Mock-Seq (per daemon)
# and non-streamed JSON bodies carry "mock": {name, model, path, uri,
# method, headers, body_length, body_sha1, content_length,
# body_valid_json, received (the body parsed as JSON, or null)}.
# Each request is also appended as one JSON line to <dir>/<name>.requests
# (see mock_requests()).
#
# Behaviour, per request header or per daemon option (header first):
#   X-Mock-Status: N       status   => N  error in the provider's format
#   X-Mock-Retry-After: s  retry_after    adds Retry-After to errors
#   X-Mock-Text: s         text           the answer's text (OpenAI JSON)
#   X-Mock-Finish: s       finish         its finish_reason (OpenAI JSON)
#   X-Mock-Delay: s        delay          sleep before answering
#   X-Mock-Stream: 1|0     stream         force SSE streaming on/off (else
#                                         body "stream": true, or Gemini
#                                         :streamGenerateContent)
#   X-Mock-Chunk-Delay: s  chunk_delay    sleep between stream events
#   X-Mock-Cut: 1          cut            close the connection mid-body
#   X-Mock-Drop: 1         drop           close without any response
#   X-Mock-Usage: in,out   usage          token counts (default 10,20)
#   X-Mock-No-Usage: 1     no_usage       omit usage from the answer
# Daemon option fail => N is an alias of status => N.  While the file
# <dir>/<name>.fail exists every request without X-Mock-Status fails with
# the status it contains (503 when empty): see mock_fail()/mock_ok().
#
#   my $port = start_mock($t, name => 'cheap', port => $t->port(8081));

use strict;
use warnings;

use Digest::SHA qw(sha1_hex);
use Exporter qw(import);
use Fcntl qw(:flock);
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep);

our @EXPORT = qw(start_mock stop_mock mock_requests mock_reset mock_fail
                 mock_ok);

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

my %REASON = (200 => 'OK', 400 => 'Bad Request', 401 => 'Unauthorized',
    403 => 'Forbidden', 404 => 'Not Found', 408 => 'Request Timeout',
    413 => 'Payload Too Large', 429 => 'Too Many Requests',
    500 => 'Internal Server Error', 502 => 'Bad Gateway',
    503 => 'Service Unavailable', 504 => 'Gateway Timeout',
    529 => 'Overloaded');

###########################################################################
# control from the test process

# start_mock($t, name => 'cheap', port => P, %options): returns the port.
sub start_mock {
    my ($t, %o) = @_;
    my $name = $o{name} // 'mock';
    die "bad mock name '$name'\n" unless $name =~ /^[\w.-]+$/;
    my $port = $o{port} // $t->port("mock:$name");
    my $dir = $o{dir} // $t->testdir;
    $o{status} //= $o{fail};

    my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port",
        Listen => 128, ReuseAddr => 1, Proto => 'tcp')
        or die "mock $name: cannot listen on 127.0.0.1:$port: $!\n";
    open(my $fh, '>', "$dir/$name.requests") or die "$dir: $!\n";
    close $fh;

    my %cfg = (%o, name => $name, port => $port, dir => $dir);
    my $pid = $t->run_daemon(\&_serve, $l, \%cfg);
    close $l;
    $t->{_mocks}{$name} = { port => $port, pid => $pid, dir => $dir };
    return $port;
}

sub _mock {
    my ($t, $name) = @_;
    return $t->{_mocks}{$name} // die "no mock named '$name'\n";
}

sub stop_mock {
    my ($t, $name) = @_;
    $t->stop_daemon(_mock($t, $name)->{pid});
}

# mock_requests($t, $name): the requests received so far, oldest first,
# as hashes {seq, method, uri, path, headers, body_length, body_sha1,
# content_length, transfer_encoding, model, status, stream, body (when
# at most 64 KB)}.
sub mock_requests {
    my ($t, $name) = @_;
    my $file = _mock($t, $name)->{dir} . "/$name.requests";
    open(my $fh, '<:raw', $file) or return ();
    return map { $JSON->decode($_) } grep { /\S/ } <$fh>;
}

sub mock_reset {
    my ($t, $name) = @_;
    my $file = _mock($t, $name)->{dir} . "/$name.requests";
    open(my $fh, '>', $file) or die "$file: $!\n";
    close $fh;
}

# mock_fail($t, $name, [$status], [$retry_after]): the named mock answers
# every request with $status (and Retry-After) until mock_ok()
sub mock_fail {
    my ($t, $name, $status, $retry_after) = @_;
    my $file = _mock($t, $name)->{dir} . "/$name.fail";
    open(my $fh, '>', $file) or die "$file: $!\n";
    print $fh ($status // 503) . (defined $retry_after ? " $retry_after" : '');
    close $fh;
}

sub mock_ok {
    my ($t, $name) = @_;
    unlink _mock($t, $name)->{dir} . "/$name.fail";
}

###########################################################################
# the daemon

sub _serve {
    my ($l, $cfg) = @_;
    $0 = "mock-llm $cfg->{name}";
    $SIG{CHLD} = 'IGNORE';
    $SIG{PIPE} = 'IGNORE';
    my $seq = 0;
    while (1) {
        my $c = $l->accept or next;
        $seq++;
        my $pid = fork();
        if (!defined $pid) { close $c; next }
        if ($pid == 0) {
            close $l;
            local $SIG{ALRM} = sub { die "timeout\n" };
            alarm(120);
            eval { _connection($c, $cfg, $seq); 1 }
                or $@ =~ /^(eof|timeout)$/
                or _bad_request($c, $cfg, $@);
            close $c;
            POSIX::_exit(0);
        }
        close $c;
    }
}

sub _bad_request {
    my ($c, $cfg, $err) = @_;
    print STDERR "mock $cfg->{name}: $err";
    syswrite($c, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                 . "Content-Length: 0\r\n\r\n");
}

sub _fill {
    my ($c, $buf) = @_;
    my $n = sysread($c, $$buf, 65536, length $$buf);
    die "eof\n" unless $n;
}

sub _read_request {
    my ($c) = @_;
    my $buf = '';
    my ($head, $rest);
    until (($head, $rest) = $buf =~ /\A(.*?)\r?\n\r?\n(.*)\z/s) {
        my $n = sysread($c, $buf, 65536, length $buf);
        return undef unless $n;          # e.g. a waitforsocket() probe
    }
    $buf = $rest;

    my ($line, @lines) = split /\r?\n/, $head;
    my ($method, $uri, $version) = $line =~ m{^(\S+) (\S+) HTTP/(\d\.\d)$}
        or die "bad request line '$line'\n";
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:\s]+):\s*(.*?)\s*$/ or die "bad header '$_'\n";
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }
    my ($path, $query) = split /\?/, $uri, 2;
    my $r = { method => $method, uri => $uri, path => $path,
              query => $query, version => $version, headers => \%h };

    if ($version eq '1.1' && lc($h{expect} // '') eq '100-continue') {
        syswrite($c, "HTTP/1.1 100 Continue\r\n\r\n");
    }

    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        $r->{body} = _read_chunked($c, \$buf);
    } elsif (defined $h{'content-length'}) {
        my $len = $h{'content-length'};
        _fill($c, \$buf) while length($buf) < $len;
        $r->{body} = substr($buf, 0, $len);
    } else {
        $r->{body} = '';
    }
    return $r;
}

sub _read_chunked {
    my ($c, $buf) = @_;
    my $body = '';
    while (1) {
        my ($hex, $line);
        _fill($c, $buf)
            until ($line, $hex) = $$buf =~ /\A(([0-9a-fA-F]+)[^\r\n]*\r\n)/;
        my $size = hex $hex;
        substr($$buf, 0, length $line) = '';
        if ($size == 0) {               # trailers, then an empty line
            _fill($c, $buf) until $$buf =~ /\A(?:[^\r\n]+\r\n)*\r\n/;
            return $body;
        }
        _fill($c, $buf) while length($$buf) < $size + 2;
        $body .= substr($$buf, 0, $size);
        substr($$buf, 0, $size + 2) = '';
    }
}

sub _connection {
    my ($c, $cfg, $seq) = @_;
    binmode $c;
    my $r = _read_request($c) or return;
    my $h = $r->{headers};
    my $opt = sub {
        my ($key) = @_;
        (my $hdr = "x-mock-$key") =~ tr/_/-/;
        return $h->{$hdr} // $cfg->{$key};
    };

    my $json = eval { $JSON->decode($r->{body}) };
    my $model = ref $json eq 'HASH' ? $json->{model} : undef;
    my $fmt = $r->{path} =~ /:(?:stream)?generateContent$/i ? 'gemini'
            : $r->{path} =~ m{/messages$} ? 'anthropic'
            : $r->{path} =~ m{/embeddings$} ? 'embeddings'
            : $r->{path} =~ m{/models$} && $r->{method} eq 'GET' ? 'models'
            : 'openai';

    my ($fstatus, $fretry) = _fail_file($cfg);
    my $status = $h->{'x-mock-status'} // $fstatus
                 // $cfg->{status} // 200;
    my $sh = $opt->('stream');
    my $stream = defined $sh ? $sh
               : ref $json eq 'HASH' && $json->{stream}
                 || $r->{path} =~ /:streamGenerateContent$/i;
    my ($in, $out) = split /\s*,\s*/, $opt->('usage') // '10,20';

    my %info = (
        name => $cfg->{name}, model => $model, path => $r->{path},
        uri => $r->{uri}, method => $r->{method}, headers => $h,
        body_length => length($r->{body}), body_sha1 => sha1_hex($r->{body}),
        content_length => $h->{'content-length'},
        transfer_encoding => $h->{'transfer-encoding'},
    );
    _record($cfg, { %info, seq => $seq, status => 0 + $status,
        stream => $stream ? JSON::PP::true : JSON::PP::false,
        length($r->{body}) <= 65536 ? (body => $r->{body}) : () });

    my $delay = $opt->('delay');
    sleep $delay if $delay;
    return if $opt->('drop');

    my @hdr = (
        'X-Mock-Name' => $cfg->{name}, 'X-Mock-Model' => $model // 'none',
        'X-Mock-Path' => $r->{path}, 'X-Mock-Uri' => $r->{uri},
        'X-Mock-Method' => $r->{method},
        'X-Mock-Body-Length' => $info{body_length},
        'X-Mock-Body-SHA1' => $info{body_sha1},
        'X-Mock-Content-Length' => $h->{'content-length'} // 'none',
        'X-Mock-Transfer-Encoding' => $h->{'transfer-encoding'} // 'none',
        'X-Mock-Seq' => $seq,
    );
    my %ctx = (r => $r, json => $json, fmt => $fmt, seq => $seq,
               model => $model // ($fmt eq 'gemini' ? _gemini_model($r)
                                                    : 'mock-model'),
               text => $opt->('text') // "Hello from $cfg->{name}",
               finish => $opt->('finish') // 'stop',
               in => $in, out => $out,
               usage => !$opt->('no_usage'), cut => $opt->('cut'),
               chunk_delay => $opt->('chunk_delay'));

    if ($status != 200) {
        my $ra = $opt->('retry_after') // $fretry;
        push @hdr, 'Retry-After' => $ra if defined $ra;
        my $body = _error_body(\%ctx, $status, $cfg->{name});
        $body->{mock} = _mock_info(\%info, $json);
        return _respond($c, \%ctx, $status, \@hdr, $body);
    }
    return _stream($c, \%ctx, \@hdr) if $stream && $fmt ne 'models';
    my $body = _answer(\%ctx);
    $body->{mock} = _mock_info(\%info, $json);
    return _respond($c, \%ctx, 200, \@hdr, $body);
}

# "<status> [<retry-after>]": (status, retry_after), or () when absent
sub _fail_file {
    my ($cfg) = @_;
    my $file = "$cfg->{dir}/$cfg->{name}.fail";
    open(my $fh, '<', $file) or return ();
    my $s = <$fh> // '';
    return $s =~ /^\s*(\d{3})(?:\s+(\d+))?/ ? ($1, $2) : (503);
}

sub _record {
    my ($cfg, $rec) = @_;
    open(my $fh, '>>:raw', "$cfg->{dir}/$cfg->{name}.requests") or return;
    flock($fh, LOCK_EX);
    syswrite($fh, $JSON->encode($rec) . "\n");
    close $fh;
}

sub _mock_info {
    my ($info, $json) = @_;
    my %m = %$info;
    $m{body_valid_json} = defined $json ? JSON::PP::true : JSON::PP::false;
    $m{received} = $json;
    return \%m;
}

sub _gemini_model {
    my ($r) = @_;
    return $r->{path} =~ m{/models/([^/:]+):} ? $1 : 'gemini-mock';
}

###########################################################################
# provider formats

sub _openai_usage {
    my ($x) = @_;
    return { prompt_tokens => 0 + $x->{in}, completion_tokens => 0 + $x->{out},
             total_tokens => $x->{in} + $x->{out} };
}

sub _gemini_usage {
    my ($x) = @_;
    return { promptTokenCount => 0 + $x->{in},
             candidatesTokenCount => 0 + $x->{out},
             totalTokenCount => $x->{in} + $x->{out} };
}

sub _answer {
    my ($x) = @_;
    my %u;
    if ($x->{fmt} eq 'anthropic') {
        %u = (usage => { input_tokens => 0 + $x->{in},
                         output_tokens => 0 + $x->{out} }) if $x->{usage};
        return { id => "msg_mock_$x->{seq}", type => 'message',
                 role => 'assistant', model => $x->{model},
                 content => [ { type => 'text', text => $x->{text} } ],
                 stop_reason => 'end_turn', stop_sequence => undef, %u };
    }
    if ($x->{fmt} eq 'gemini') {
        %u = (usageMetadata => _gemini_usage($x)) if $x->{usage};
        return { candidates => [ { index => 0, finishReason => 'STOP',
                     content => { role => 'model',
                                  parts => [ { text => $x->{text} } ] } } ],
                 modelVersion => $x->{model}, %u };
    }
    if ($x->{fmt} eq 'embeddings') {
        %u = (usage => { prompt_tokens => 0 + $x->{in},
                         total_tokens => 0 + $x->{in} }) if $x->{usage};
        return { object => 'list', model => $x->{model}, %u,
                 data => [ { object => 'embedding', index => 0,
                             embedding => [ 0.1, 0.2, 0.3 ] } ] };
    }
    if ($x->{fmt} eq 'models') {
        return { object => 'list', data => [ { id => 'mock-model',
                 object => 'model', owned_by => 'mock' } ] };
    }
    %u = (usage => _openai_usage($x)) if $x->{usage};
    return { id => "chatcmpl-mock-$x->{seq}", object => 'chat.completion',
             created => time, model => $x->{model}, %u,
             choices => [ { index => 0, finish_reason => $x->{finish},
                 message => { role => 'assistant',
                              content => $x->{text} } } ] };
}

sub _error_body {
    my ($x, $status, $name) = @_;
    my $msg = "mock $name: status $status";
    if ($x->{fmt} eq 'anthropic') {
        my $type = { 400 => 'invalid_request_error',
            401 => 'authentication_error', 429 => 'rate_limit_error',
            529 => 'overloaded_error' }->{$status} // 'api_error';
        return { type => 'error', error => { type => $type,
                                              message => $msg } };
    }
    if ($x->{fmt} eq 'gemini') {
        my $s = { 400 => 'INVALID_ARGUMENT', 401 => 'UNAUTHENTICATED',
            403 => 'PERMISSION_DENIED', 429 => 'RESOURCE_EXHAUSTED',
            503 => 'UNAVAILABLE' }->{$status} // 'INTERNAL';
        return { error => { code => 0 + $status, message => $msg,
                            status => $s } };
    }
    my $type = $status == 429 ? 'rate_limit_exceeded'
             : $status == 401 ? 'invalid_api_key'
             : $status >= 500 ? 'server_error' : 'invalid_request_error';
    return { error => { message => $msg, type => $type, code => $type,
                        param => undef } };
}

sub _respond {
    my ($c, $x, $status, $hdr, $data) = @_;
    my $body = $JSON->encode($data);
    my $head = "HTTP/1.1 $status " . ($REASON{$status} // 'Unknown') . "\r\n"
        . "Content-Type: application/json\r\n"
        . 'Content-Length: ' . length($body) . "\r\nConnection: close\r\n";
    for (my $i = 0; $i < @$hdr; $i += 2) {
        $head .= "$hdr->[$i]: $hdr->[$i + 1]\r\n";
    }
    if ($x->{cut}) {
        _write($c, "$head\r\n" . substr($body, 0, length($body) / 2));
        return;
    }
    _write($c, "$head\r\n$body");
}

sub _write {
    my ($c, $data) = @_;
    while (length $data) {
        my $n = syswrite($c, $data) // die "eof\n";
        substr($data, 0, $n) = '';
    }
}

# The SSE (or Gemini JSON array) events of a streamed answer.
sub _events {
    my ($x) = @_;
    my @pieces = ('Hello', ' from', ' ' . substr($x->{text}, 11));
    my $sse = sub { map { "data: " . $JSON->encode($_) . "\n\n" } @_ };

    if ($x->{fmt} eq 'anthropic') {
        my $ev = sub { my ($t, $d) = @_;
                       "event: $t\ndata: " . $JSON->encode($d) . "\n\n" };
        my %u1 = $x->{usage} ? (usage => { input_tokens => 0 + $x->{in},
                                            output_tokens => 1 }) : ();
        my %u2 = $x->{usage} ? (usage => { output_tokens => 0 + $x->{out} })
                             : ();
        return (
            $ev->(message_start => { type => 'message_start',
                message => { id => "msg_mock_$x->{seq}", type => 'message',
                    role => 'assistant', model => $x->{model}, content => [],
                    stop_reason => undef, stop_sequence => undef, %u1 } }),
            $ev->(content_block_start => { type => 'content_block_start',
                index => 0, content_block => { type => 'text', text => '' } }),
            $ev->(ping => { type => 'ping' }),
            (map { $ev->(content_block_delta => {
                    type => 'content_block_delta', index => 0,
                    delta => { type => 'text_delta', text => $_ } }) }
                 @pieces),
            $ev->(content_block_stop => { type => 'content_block_stop',
                                          index => 0 }),
            $ev->(message_delta => { type => 'message_delta', %u2,
                delta => { stop_reason => 'end_turn',
                           stop_sequence => undef } }),
            $ev->(message_stop => { type => 'message_stop' }));
    }

    if ($x->{fmt} eq 'gemini') {
        my @chunks;
        for my $i (0 .. $#pieces) {
            my $last = $i == $#pieces;
            my %u = !$x->{usage} ? ()
                  : (usageMetadata => $last ? _gemini_usage($x)
                        : { promptTokenCount => 0 + $x->{in} });
            push @chunks, { modelVersion => $x->{model}, %u,
                candidates => [ { index => 0,
                    $last ? (finishReason => 'STOP') : (),
                    content => { role => 'model',
                                 parts => [ { text => $pieces[$i] } ] } } ] };
        }
        return $sse->(@chunks) if ($x->{r}{query} // '') =~ /\balt=sse\b/;
        my @a = map { $JSON->encode($_) } @chunks;
        return ("[$a[0]", (map { ",\r\n$_" } @a[1 .. $#a]), "]");
    }

    my %base = (id => "chatcmpl-mock-$x->{seq}", created => time,
                object => 'chat.completion.chunk', model => $x->{model});
    my $chunk = sub { my ($d, $f) = @_;
        +{ %base, choices => [ { index => 0, delta => $d,
                                finish_reason => $f } ] } };
    my $j = $x->{json};
    my $want = ref $j eq 'HASH' && ref $j->{stream_options} eq 'HASH'
               && $j->{stream_options}{include_usage};
    return ($sse->($chunk->({ role => 'assistant', content => '' }, undef),
                   (map { $chunk->({ content => $_ }, undef) } @pieces),
                   $chunk->({}, 'stop')),
            $want && $x->{usage}
                ? $sse->({ %base, choices => [], usage => _openai_usage($x) })
                : (),
            "data: [DONE]\n\n");
}

sub _stream {
    my ($c, $x, $hdr) = @_;
    my $chunked = $x->{r}{version} eq '1.1';
    my $sse = $x->{fmt} ne 'gemini' || ($x->{r}{query} // '') =~ /alt=sse/;
    my $head = "HTTP/1.1 200 OK\r\nContent-Type: "
        . ($sse ? 'text/event-stream' : 'application/json')
        . "\r\nCache-Control: no-cache\r\nConnection: close\r\n"
        . ($chunked ? "Transfer-Encoding: chunked\r\n" : '');
    for (my $i = 0; $i < @$hdr; $i += 2) {
        $head .= "$hdr->[$i]: $hdr->[$i + 1]\r\n";
    }
    _write($c, "$head\r\n");

    my @events = _events($x);
    my $stop = $x->{cut} ? int(@events / 2) || 1 : @events;
    for my $i (0 .. $stop - 1) {
        sleep $x->{chunk_delay} if $x->{chunk_delay} && $i;
        my $e = $events[$i];
        _write($c, $chunked ? sprintf("%x\r\n%s\r\n", length $e, $e) : $e);
    }
    _write($c, "0\r\n\r\n") if $chunked && !$x->{cut};
}

1;
