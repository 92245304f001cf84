#!/usr/bin/perl

# Does the feedback loop learn?  Replays the evaluation data's dev split
# ($LLMR_EVAL_DIR/dev, or --eval DIR; docs/routing-quality.md) through a
# running nginx with the module, two models ("weak", cheap, serving
# trivial..moderate; "strong", expensive, complex..expert) behind a mock
# provider (a server{} of the same nginx with a canned completion: only
# the routing matters, the outcome comes from the data), and reports the real outcome of the chosen model (the data's
# weak/strong correctness, MT-Bench scores / 10) to /llm/feedback with the
# X-LLM-Request-Id of the answer.  A fixed share of dev (by a hash of the
# id) is held out and never reported on: after each epoch it is routed
# again and scored the way the evaluation data's route_eval.py scores a
# router.
#
#   perl bench/feedback_replay.pl [--epochs 4] [--holdout 30]
#       [--classifier builtin|split|without:BENCH|v1|FILE]
#       [--modes one,two]
#       [--learn 'min_samples=5 low=0.6 ...'] [--limit N] [--seed 1]
#       [--json FILE] [--eval DIR]
#
# --classifier: builtin (the model compiled in: trained on all of dev, so
# in-sample on the held-out part), split (a model `llmr train` fits on the
# reported part only: an out-of-sample static router), without:BENCH
# (BENCH gsm8k, mmlu or mt_bench: split's recipe on the reported part of
# the other benchmarks only, a router trained offline on other traffic
# than it serves: drift; the replay is still all of dev), v1 (the hand-set
# weights, no outcome training: a cold start), or a model file.
# --modes: one (one instance sees all the traffic), two (two instances
# sharing Redis, the traffic alternating between them).
#
# Per epoch, on the held-out prompts:
#   routed     the decisions the router took: share of strong calls,
#              mean quality, PGR at that point, cost against always-strong
#              (route_eval's prices, equal tokens a call)
#   curve      the router as a score: the classifier's score, moved by the
#              learned offset of its class to the same place in the band
#              of the tier it now goes to, swept over thresholds as
#              route_eval.py does: APGR (11 points, RouteLLM's), calls@95%
#              and the saving there (full curve); the threshold between
#              the two models' tiers is the router's own decision
#   by bench   the same, per benchmark, at epoch 0 and the last epoch:
#              held-out APGR, strong calls and quality (mt_bench is too
#              small to score, 14 prompts held out)
#   static@x   what epoch 0's curve reaches at the routed share of strong
#              calls: a learned point above it beats moving the static
#              threshold
#
# Needs the module built (./build.sh) and build/llmr (make llmr); python3
# is used to cross-check the last epoch with route_eval.py when present.

use strict;
use warnings;
use sort 'stable';

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use Digest::SHA qw(sha1_hex);
use File::Temp qw(tempdir);
use Getopt::Long;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use JSON::PP;
use List::Util qw(shuffle sum max min);
use POSIX qw(floor);
use Time::HiRes qw(sleep time);

use LLMRouter::Test;

my $REPO = "$FindBin::Bin/..";
my %o = (epochs => 4, holdout => 30, classifier => 'builtin',
         modes => 'one,two', seed => 1, limit => 0,
         eval => $ENV{LLMR_EVAL_DIR},
         learn => 'min_samples=5 low=0.6 high=0.85 demote_samples=20 '
                  . 'explore=5%');
GetOptions(\%o, 'epochs=i', 'holdout=i', 'classifier=s', 'modes=s',
           'learn=s', 'limit=i', 'seed=i', 'json=s', 'eval=s', 'verbose')
    or die "bad options\n";

defined $o{eval} && length $o{eval}
    or die "the evaluation data: set LLMR_EVAL_DIR=DIR or --eval DIR "
           . "(DIR/dev/*.jsonl; see docs/routing-quality.md)\n";

my $JSON = JSON::PP->new->utf8->canonical;
my $LLMR = "$REPO/build/llmr";
my ($PRICE_STRONG, $PRICE_WEAK) = (24.7, 0.24);     # route_eval.py's

-x $LLMR or die "build/llmr not found (make llmr)\n";

###########################################################################
# the data: prompts, outcomes, the held-out split

my @rows;

for my $bench (qw(gsm8k mmlu mt_bench)) {
    my $file = "$o{eval}/dev/$bench.jsonl";
    open(my $fh, '<:raw', $file) or die "$file: $!\n";
    while (my $line = <$fh>) {
        next unless $line =~ /\S/;
        my $r = $JSON->decode($line);
        my $scale = $bench eq 'mt_bench' ? 10 : 1;
        push @rows, { id => $r->{id}, bench => $bench,
                      prompt => $r->{prompt},
                      strong => $r->{strong} / $scale,
                      weak => $r->{weak} / $scale,
                      held => hex(substr(sha1_hex($r->{id}), 0, 8)) % 100
                              < $o{holdout} };
    }
}

if ($o{limit} && $o{limit} < @rows) {
    # every k-th prompt: each benchmark keeps its share
    my $k = @rows / $o{limit};
    @rows = map { $rows[int($_ * $k)] } 0 .. $o{limit} - 1;
}

my @held = grep { $_->{held} } @rows;
my @train = grep { !$_->{held} } @rows;

printf "dev: %d prompts, %d reported on (train), %d held out (%d%% by "
       . "id hash)\n", scalar @rows, scalar @train, scalar @held,
       $o{holdout};

my $work = tempdir('llmr-replay-XXXXXX', TMPDIR => 1, CLEANUP => 1);

###########################################################################
# the static router: which classifier, and its class of every prompt

my $model = classifier_model($o{classifier});

printf "classifier: %s%s\n", $o{classifier},
       $model ? " ($model)" : '';

classify_all($model);

sub classifier_model {
    my ($c) = @_;
    return undef if $c eq 'builtin';
    return $c if -f $c;

    # without:BENCH: the benchmark the router will serve but was not
    # trained on; its reports still reach the feedback loop
    my ($without) = $c =~ /^without:(gsm8k|mmlu|mt_bench)$/;
    $c =~ /^without:/ && !defined $without
        and die "--classifier without:BENCH: gsm8k, mmlu or mt_bench\n";

    my @files;
    for my $bench (grep { !defined $without || $_ ne $without }
                   qw(gsm8k mmlu mt_bench)) {
        my $f = "$work/train_$bench.jsonl";
        open(my $fh, '>:raw', $f) or die "$f: $!\n";
        for my $r (grep { $_->{bench} eq $bench } @train) {
            my $scale = $bench eq 'mt_bench' ? 10 : 1;
            print $fh $JSON->encode({ id => $r->{id}, prompt => $r->{prompt},
                                      strong => $r->{strong} * $scale,
                                      weak => $r->{weak} * $scale }), "\n";
        }
        close $fh;
        push @files, $f;
    }

    # the Makefile's recipe for the built-in model, on the train part;
    # v1: no epoch of weight, the hand-set weights as they are
    my $dense = 'length,sentences,numbers,questions,list_items,'
                . 'number_share,word_bytes';
    my @args = $c eq 'split' || defined $without
        ? (qw(--epochs 8 --lr 0.02 --balance 0.5 --bags 3 --mix 10
              --min-weight 0.05 --seed 1 --bits 16 --dense), $dense)
        : $c eq 'v1'
        ? qw(--epochs 1 --mix 0.000001 --bits 0 --seed 1)
        : die "--classifier: builtin, split, without:BENCH, v1 or a "
              . "model file\n";

    (my $name = $c) =~ s/\W/_/g;
    my $out = "$work/$name.model";
    system($LLMR, 'train', '--data', join(',', @files), @args, '--out',
           $out) == 0 or die "llmr train failed\n";
    return $out;
}

sub classify_all {
    my ($m) = @_;
    my $in = "$work/bodies.jsonl";
    open(my $fh, '>:raw', $in) or die "$in: $!\n";
    print $fh $JSON->encode(chat_body($_->{prompt})), "\n" for @rows;
    close $fh;

    my @cmd = ($LLMR, 'classify', $m ? ('--model', $m) : ());
    open(my $out, '-|', "@cmd < $in") or die "llmr classify: $!\n";
    my $i = 0;
    while (my $line = <$out>) {
        my $d = $JSON->decode($line);
        my $r = $rows[$i++] or die "llmr classify: too many lines\n";
        $r->{score} = $d->{score};
        $r->{tier} = $d->{tier};
        $r->{domain} = $d->{domain};
    }
    close $out;
    $i == @rows or die "llmr classify: $i answers for " . @rows . "\n";
}

# the classifier's score -> tier thresholds, from its model file

my @TH = thresholds($model // "$REPO/core/model/default.model");

sub thresholds {
    my ($file) = @_;
    open(my $fh, '<:raw', $file) or die "$file: $!\n";
    my $head = <$fh>;
    my ($t) = $head =~ /\bthresholds=([\d.,]+)/
        or die "$file: no thresholds\n";
    return split /,/, $t;
}

sub band {
    my ($tier) = @_;
    return ($tier == 0 ? 0 : $TH[$tier - 1], $tier == 4 ? 1 : $TH[$tier]);
}

sub chat_body {
    return { model => 'auto',
             messages => [ { role => 'user', content => $_[0] } ] };
}

###########################################################################
# the gateways

my %TIER = (trivial => 0, simple => 1, moderate => 2, complex => 3,
            expert => 4);

sub conf {
    my ($t, %c) = @_;
    my $g = $t->test_globals;
    $g =~ s/^error_log .*$/error_log %%TESTDIR%%\/error.log notice;/m;
    my $redis = $c{redis} ? "llm_redis 127.0.0.1:$c{redis} flush=100ms;"
                          : '';
    my $cm = $model ? "llm_classifier_model $model;" : '';

    return <<"EOF";
$g
%%LOAD_MODULE%%

events {
    worker_connections 1024;
}

http {
    %%TEST_GLOBALS_HTTP%%
    access_log off;

    llm_router_zone llm 16m;
    llm_health off;
    $redis
    $cm
    llm_feedback_learn $o{learn} implicit=off;

    llm_model weak   provider=openai upstream=mock tiers=trivial-moderate
                     input=$PRICE_WEAK output=$PRICE_WEAK;
    llm_model strong provider=openai upstream=mock tiers=complex-expert
                     input=$PRICE_STRONG output=$PRICE_STRONG;

    upstream mock {
        server 127.0.0.1:%%PORT_8090%%;
        keepalive 16;
    }

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        client_max_body_size 1m;
        client_body_buffer_size 64k;

        location /v1/ {
            llm_route on;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://\$llm_upstream;
            add_header X-LLM-Model \$llm_model always;
            add_header X-LLM-Tier \$llm_tier always;
            add_header X-LLM-Score \$llm_score always;
            add_header X-LLM-Domain \$llm_domain always;
            add_header X-LLM-Reason \$llm_reason always;
        }

        location = /llm/feedback {
            llm_feedback;
        }
    }

    # the provider: one canned answer (its text plays no part: the
    # outcome reported is the data's)
    server {
        listen 127.0.0.1:%%PORT_8090%%;
        keepalive_requests 100000;

        location / {
            default_type application/json;
            return 200 '{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}';
        }
    }
}
EOF
}

sub gateways {
    my ($n) = @_;
    my @t = map { LLMRouter::Test->new(workers => 1) } 1 .. $n;
    $_->has_module or die "build the module first (./build.sh)\n" for @t;

    my $redis;
    if ($n > 1) {
        $redis = $t[0]->port(6379);
        $t[0]->start_redis(port => $redis);
    }

    $_->run(conf($_, redis => $redis)) for @t;
    return @t;
}

# A keep-alive HTTP/1.1 client that writes each request in one piece with
# TCP_NODELAY (HTTP::Tiny writes the headers and the body apart, and a
# kept-alive connection then waits out the peer's delayed ACK: 40 ms a
# request).

sub request {
    my ($t, $method, $uri, $body) = @_;
    $body //= '';
    $body = $JSON->encode($body) if ref $body;

    for my $try (1 .. 2) {
        my $s = $t->{sock} //= IO::Socket::INET->new(
            PeerAddr => '127.0.0.1:' . $t->nginx_port, Proto => 'tcp',
            Timeout => 10) or die "connect: $!\n";
        setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
        my $req = "$method $uri HTTP/1.1\r\nHost: localhost\r\n"
                . ($method eq 'GET' ? ''
                   : "Content-Type: application/json\r\n"
                     . 'Content-Length: ' . length($body) . "\r\n")
                . "\r\n" . ($method eq 'GET' ? '' : $body);
        my $r = eval { exchange($s, $req) };
        return $r if $r;
        # a kept-alive connection the server closed: once more, anew
        delete $t->{sock};
        die "$method $uri: $@" if $try == 2;
    }
}

sub exchange {
    my ($s, $req) = @_;
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 30;
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite($s, $req, length($req) - $off, $off);
        die "write: $!\n" unless $n;
        $off += $n;
    }
    my $buf = '';
    my ($head, $len, $chunked);
    while (1) {
        my $n = sysread($s, $buf, 65536, length $buf);
        die "read: closed\n" unless $n;
        if (!defined $head && (my $i = index($buf, "\r\n\r\n")) >= 0) {
            $head = substr($buf, 0, $i);
            $buf = substr($buf, $i + 4);
            ($len) = $head =~ /^content-length:\s*(\d+)/mi;
            $chunked = $head =~ /^transfer-encoding:\s*chunked/mi;
        }
        next unless defined $head;
        last if defined $len && length($buf) >= $len;
        last if $chunked && $buf =~ /(?:^|\r\n)0\r\n\r\n$/;
    }
    alarm 0;
    if ($chunked) {
        my $body = '';
        while ($buf =~ s/^([0-9a-fA-F]+)\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $body .= substr($buf, 0, $n);
            $buf = substr($buf, $n + 2);
        }
        $buf = $body;
    }
    my ($status) = $head =~ m{^HTTP/1\.\d (\d+)};
    my %h;
    for my $line (split /\r\n/, $head) {
        $h{lc $1} = $2 if $line =~ /^([^:]+):\s*(.*)$/;
    }
    return { status => $status, headers => \%h, content => $buf };
}

sub post {
    my ($t, $uri, $body) = @_;
    return request($t, 'POST', $uri, $body);
}

sub route {
    my ($t, $row) = @_;
    my $r = post($t, '/v1/chat/completions', chat_body($row->{prompt}));
    $r->{status} == 200
        or die "routing $row->{id}: $r->{status} $r->{content}\n";
    my $h = $r->{headers};
    my $m = $h->{'x-llm-model'} // '';
    $m eq 'weak' || $m eq 'strong'
        or die "routing $row->{id}: model '$m'\n";
    return { model => $m, id => $h->{'x-llm-request-id'},
             tier => $h->{'x-llm-tier'}, score => $h->{'x-llm-score'},
             domain => $h->{'x-llm-domain'},
             reason => $h->{'x-llm-reason'} // '' };
}

my %REPORTS;

sub report {
    my ($t, $rid, $q) = @_;
    defined $rid && length $rid
        or die "no X-LLM-Request-Id on a routed answer\n";
    my $body = sprintf('{"request_id":"%s","quality":%.4f}', $rid, $q);

    # the decision is stored in the log phase, just after the answer
    for my $try (1 .. 50) {
        my $r = post($t, '/llm/feedback', $body);
        if ($r->{status} == 200) {
            $REPORTS{recorded}++;
            return;
        }
        die "feedback: $r->{status} $r->{content}\n" if $r->{status} != 404;
        sleep 0.01;
    }
    $REPORTS{lost}++;
}

sub offsets {
    my ($t) = @_;
    my $r = request($t, 'GET', '/llm/feedback');
    $r->{status} == 200 or die "GET /llm/feedback: $r->{status}\n";
    my $list = $JSON->decode($r->{content});
    my (%off, %shift);
    for my $b (@{ $list->{buckets} // [] }) {
        next unless defined $b->{offset} && defined $b->{tier};
        $off{"$b->{domain} $b->{tier}"} = $b->{offset};
        $shift{"$b->{domain} $b->{tier}"} = $b->{shift} // 0;
    }
    return (\%off, \%shift);
}

# the tier of a score under the classifier's thresholds
sub score_tier {
    my ($s) = @_;
    my $t = 0;
    $t++ while $t < 4 && $s >= $TH[$t];
    return $t;
}

###########################################################################
# route_eval.py's metrics, in Perl

sub trapz {
    my ($y, $x) = @_;
    my $s = 0;
    $s += ($x->[$_ + 1] - $x->[$_]) * ($y->[$_ + 1] + $y->[$_]) / 2
        for 0 .. $#$x - 1;
    return $s;
}

# pandas.qcut(values, 10, retbins=True)'s edges
sub qcut_edges {
    my @v = sort { $a <=> $b } @_;
    my $n = @v;
    my @e;
    for my $k (0 .. 10) {
        my $pos = ($n - 1) * ($k == 10 ? 1 : $k * 0.1);
        my $lo = floor($pos);
        my $hi = min($lo + 1, $n - 1);
        my $t = $pos - $lo;
        my ($a, $b) = ($v[$lo], $v[$hi]);
        push @e, $t >= 0.5 ? $b - ($b - $a) * (1 - $t) : $a + ($b - $a) * $t;
    }
    return @e;
}

sub metrics {
    my ($rows, $score) = @_;
    my $n = @$rows;
    my $sq = sum(map { $_->{strong} } @$rows) / $n;
    my $wq = sum(map { $_->{weak} } @$rows) / $n;
    my @s = map { $score->($_) } @$rows;

    # RouteLLM's 11 points
    my @edges = qcut_edges(@s);
    my @pts;
    for my $i (0 .. $#edges) {
        my ($tot, $k) = (0, 0);
        for my $j (0 .. $n - 1) {
            my $strong = $i == $#edges ? $s[$j] > $edges[$i]
                                       : $s[$j] >= $edges[$i];
            $tot += $strong ? $rows->[$j]{strong} : $rows->[$j]{weak};
            $k++ if $strong;
        }
        push @pts, [ $k / $n * 100, $tot / $n ];
    }
    @pts = sort { $a->[0] <=> $b->[0] } @pts;
    my @xf = map { $_->[0] / 100 } @pts;
    my @ys = map { $_->[1] } @pts;
    my $auc = trapz(\@ys, \@xf);
    my $wauc = trapz([ ($wq) x @xf ], \@xf);
    my $sauc = trapz([ ($sq) x @xf ], \@xf);

    # the full curve: one point a distinct score
    my @ord = sort { $s[$b] <=> $s[$a] } 0 .. $n - 1;
    my $y = $wq;
    my @full = ([ 0, $y ]);
    my $i = 0;
    while ($i < $n) {
        my $j = $i;
        while ($j < $n && $s[$ord[$j]] == $s[$ord[$i]]) {
            $y += ($rows->[$ord[$j]]{strong} - $rows->[$ord[$j]]{weak}) / $n;
            $j++;
        }
        push @full, [ $j / $n * 100, $y ];
        $i = $j;
    }
    my $c95 = first_crossing(\@full, 0.95 * $sq);

    # no gap between the models (a few prompts): no APGR to speak of
    return { apgr => $sauc != $wauc ? ($auc - $wauc) / ($sauc - $wauc)
                                    : undef,
             calls95 => $c95,
             saving95 => defined $c95 ? saving($c95) : undef,
             strong_mean => $sq, weak_mean => $wq, full => \@full };
}

sub first_crossing {
    my ($pts, $target) = @_;
    return $pts->[0][0] if $pts->[0][1] >= $target;
    for my $k (1 .. $#$pts) {
        my ($x0, $y0) = @{ $pts->[$k - 1] };
        my ($x1, $y1) = @{ $pts->[$k] };
        next unless $y1 >= $target;
        return $x1 if $y1 == $y0;
        return $x0 + ($x1 - $x0) * ($target - $y0) / ($y1 - $y0);
    }
    return undef;
}

sub curve_at {
    my ($pts, $x) = @_;
    for my $k (1 .. $#$pts) {
        my ($x0, $y0) = @{ $pts->[$k - 1] };
        my ($x1, $y1) = @{ $pts->[$k] };
        next unless $x1 >= $x;
        return $x1 == $x0 ? $y1 : $y0 + ($y1 - $y0) * ($x - $x0) / ($x1 - $x0);
    }
    return $pts->[-1][1];
}

# cost against always-strong, equal tokens a call
sub saving {
    my ($pct) = @_;
    my $c = $pct / 100;
    return 1 - ($c * $PRICE_STRONG + (1 - $c) * $PRICE_WEAK) / $PRICE_STRONG;
}

###########################################################################
# the replay

my %results;
my $static_full;

sub evaluate {
    my ($t, $epoch, $mode) = @_;
    my ($off, $shift) = offsets($t);
    my ($strong, $q, $mismatch) = (0, 0, 0);

    for my $r (@held) {
        my $d = route($t, $r);
        $mismatch++ if abs($d->{score} - $r->{score}) > 0.0006;
        $strong++ if $d->{model} eq 'strong';
        $q += $d->{model} eq 'strong' ? $r->{strong} : $r->{weak};
        $r->{served} = $d;
    }

    my $n = @held;
    my $share = $strong / $n * 100;
    my $quality = $q / $n;

    # the learned router as a score: the classifier's score plus the
    # learned shift of its class (llm_feedback_learn shift=), moved by the
    # class's learned offset to the same place in the band of the tier it
    # is routed to (so the threshold between the two models' tiers is the
    # router's own decision)
    my $score = sub {
        my ($r) = @_;
        my $key = "$r->{domain} $r->{tier}";
        my $base = $TIER{$r->{tier}};
        my $s = $r->{score};
        if ($shift->{$key}) {
            # the tier of the shifted score, never under a floor's tier
            my $floored = $base > score_tier($s);
            $s = max(0, min(0.9999, $s + $shift->{$key}));
            $base = $floored ? max($base, score_tier($s)) : score_tier($s);
        }
        my $o = $off->{$key};
        # a class not listed has learned nothing (what it was served at
        # may be an exploration's step)
        $o //= 0;
        my $to = max(0, min(4, $base + $o));
        my ($lo, $hi) = band($base);
        my $pos = max(0, min(0.999, ($s - $lo) / ($hi - $lo)));
        ($lo, $hi) = band($to);
        return $lo + $pos * ($hi - $lo);
    };
    my $m = metrics(\@held, $score);
    defined $m->{apgr}
        or die "the strong and the weak model score the same on the "
               . scalar(@held) . " held-out prompts: no curve (a larger "
               . "--limit?)\n";
    $static_full //= $m->{full};

    # per benchmark: with without:BENCH the benchmark left out of the
    # classifier's training is where the drift is, and the whole's APGR
    # is mostly MMLU's (mt_bench's 14 held-out prompts make no curve)
    my %by;
    for my $b (qw(gsm8k mmlu)) {
        my @rb = grep { $_->{bench} eq $b } @held;
        next unless @rb > 10 && defined metrics(\@rb, $score)->{apgr};
        my $k = grep { $_->{served}{model} eq 'strong' } @rb;
        $by{$b} = {
            n => scalar @rb,
            apgr => metrics(\@rb, $score)->{apgr},
            strong_share => $k / @rb * 100,
            quality => sum(map { $_->{served}{model} eq 'strong'
                                 ? $_->{strong} : $_->{weak} } @rb) / @rb,
        };
    }

    my $row = {
        epoch => $epoch, strong_share => $share, quality => $quality,
        pgr => ($quality - $m->{weak_mean})
               / ($m->{strong_mean} - $m->{weak_mean}),
        cost => 1 - saving($share),
        apgr => $m->{apgr}, calls95 => $m->{calls95},
        saving95 => $m->{saving95},
        static_at => curve_at($static_full, $share),
        up => scalar(grep { $_ > 0 } values %$off),
        down => scalar(grep { $_ < 0 } values %$off),
        apgr_gsm8k => ($by{gsm8k} // {})->{apgr},
        apgr_mmlu => ($by{mmlu} // {})->{apgr},
        by_bench => \%by,
        score_mismatch => $mismatch,
    };
    push @{ $results{$mode}{epochs} }, $row;
    $results{$mode}{offsets}[$epoch] = $off;
    $results{strong_mean} = $m->{strong_mean};
    $results{weak_mean} = $m->{weak_mean};

    printf "%-4s %5d %7.1f%% %8.4f %6.3f %6.1f%% %8.4f | %6.3f %8s %8s "
           . "| %3d %3d%s\n",
           $mode, $epoch, $share, $quality, $row->{pgr}, 100 * $row->{cost},
           $row->{static_at}, $m->{apgr},
           defined $m->{calls95} ? sprintf('%.1f%%', $m->{calls95}) : 'n/a',
           defined $m->{saving95}
               ? sprintf('%.1f%%', 100 * $m->{saving95}) : 'n/a',
           $row->{up}, $row->{down},
           $mismatch ? "  ($mismatch scores differ from llmr's)" : '';

    return $score;
}

sub train_epoch {
    my ($ts, $epoch) = @_;
    srand($o{seed} * 1000 + $epoch);
    my @order = shuffle(@train);
    my $i = 0;

    for my $r (@order) {
        my $t = $ts->[$i++ % @$ts];
        my $d = route($t, $r);
        report($t, $d->{id}, $d->{model} eq 'strong' ? $r->{strong}
                                                     : $r->{weak});
    }
}

sub header {
    print "\nmode epoch  strong  quality    PGR   cost  static\@x |   APGR "
          . " calls\@95 save\@95 |  up down\n";
}

my @modes = split /,/, $o{modes};
my $t0 = time;
my $last_score;

for my $mode (@modes) {
    my $n = $mode eq 'two' ? 2 : $mode eq 'one' ? 1
          : die "--modes: one, two\n";
    my @t = gateways($n);
    undef $static_full;
    %REPORTS = ();

    header() if $mode eq $modes[0];
    evaluate($t[0], 0, $mode);

    for my $epoch (1 .. $o{epochs}) {
        train_epoch(\@t, $epoch);
        sleep 0.5 if $n > 1;            # a flush and a pull of the fleet
        $last_score = evaluate($t[0], $epoch, $mode);
    }

    my $e = $results{$mode}{epochs};
    for my $b (sort keys %{ $e->[0]{by_bench} }) {
        my ($s, $l) = map { $_->{by_bench}{$b} } $e->[0], $e->[-1];
        printf "%s: %-5s (%d held out) epoch 0 -> %d: APGR %.3f -> %.3f, "
               . "strong %.1f%% -> %.1f%%, quality %.4f -> %.4f\n",
               $mode, $b, $s->{n}, $e->[-1]{epoch}, $s->{apgr}, $l->{apgr},
               $s->{strong_share}, $l->{strong_share}, $s->{quality},
               $l->{quality};
    }

    my ($off, $shift) = offsets($t[0]);
    my @learned = map { "$_ " . sprintf('%+d', $off->{$_}) }
                  grep { $off->{$_} } sort keys %$off;
    printf "%s: learned %s\n", $mode,
           @learned ? join(', ', @learned) : 'nothing';
    $results{$mode}{learned} = { map { $_ => $off->{$_} }
                                 grep { $off->{$_} } keys %$off };
    my @shifted = map { "$_ " . sprintf('%+.3f', $shift->{$_}) }
                  grep { abs($shift->{$_}) >= 0.0005 } sort keys %$shift;
    printf "%s: shifts %s\n", $mode, join(', ', @shifted) if @shifted;
    $results{$mode}{shifts} = { map { $_ => $shift->{$_} }
                                grep { $shift->{$_} } keys %$shift };

    if ($n > 1) {
        my ($a) = offsets($t[0]);
        my ($b) = offsets($t[1]);
        my @diff = grep { ($a->{$_} // 0) != ($b->{$_} // 0) }
                   keys %{ { %$a, %$b } };
        printf "two: the instances' offsets %s\n",
               @diff ? 'differ: ' . join(', ', map {
                           sprintf('%s %+d and %+d', $_, $a->{$_} // 0,
                                   $b->{$_} // 0) } sort @diff)
                     : 'agree on every class';
        $results{two}{instances_agree} = @diff ? JSON::PP::false
                                                : JSON::PP::true;
    }

    printf "%s: %d reports recorded, %d lost (no decision found)\n", $mode,
           $REPORTS{recorded} // 0, $REPORTS{lost} // 0;
    $results{$mode}{reports} = { %REPORTS };
    $results{$mode}{elapsed} = time - $t0;
    for my $t (reverse @t) {
        close delete $t->{sock} if $t->{sock};
        $t->shutdown;
    }
}

printf "\nheld out: strong %.4f, weak %.4f, 95%% of strong %.4f; "
       . "%.0f s\n", $results{strong_mean}, $results{weak_mean},
       0.95 * $results{strong_mean}, time - $t0;

# cross-check the last epoch's curve with route_eval.py itself

if ($last_score && system('command -v python3 >/dev/null 2>&1') == 0) {
    my ($bf, $df) = ("$work/held.jsonl", "$work/decisions.jsonl");
    open(my $b, '>:raw', $bf) or die;
    open(my $d, '>:raw', $df) or die;
    for my $r (@held) {
        print $b $JSON->encode({ id => $r->{id}, strong => $r->{strong},
                                 weak => $r->{weak} }), "\n";
        print $d $JSON->encode({ id => $r->{id},
                                 score => 0 + $last_score->($r) }), "\n";
    }
    close $b;
    close $d;
    my $out = `python3 $o{eval}/route_eval.py $bf $df --name learned \
               --random-seeds 10 2>&1`;
    my ($line) = grep { /^learned / } split /\n/, $out;
    print "route_eval.py, last epoch: ", $line // $out, "\n";
}

if ($o{json}) {
    $results{options} = { %o };
    open(my $fh, '>:raw', $o{json}) or die "$o{json}: $!\n";
    print $fh JSON::PP->new->pretty->canonical->encode(\%results);
    close $fh;
}
