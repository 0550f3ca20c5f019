package io.nemorouter.bench;

import io.nemorouter.core.upstream.Transport;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import org.HdrHistogram.Histogram;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Added latency, measured: the same fixed-rate load straight at the upstream and through the
 * gateway (and through nginx, for reference), one after the other in one run, and the
 * difference of their percentiles. Non-streaming answers are timed to the last byte; streams
 * to the first byte (what a user waiting on tokens feels).
 *
 * <pre>OverheadBench --target direct=127.0.0.1:9000 --target gateway=127.0.0.1:4000 [--target nginx=...]
 *     [--rate 1000] [--stream-rate 1000,200] [--warmup 10] [--seconds 20] [--model bench] [--only plain|stream] [--out FILE]</pre>
 */
public final class OverheadBench {
    private static final String CHAT = "{\"model\":\"%s\",\"stream\":%s,\"messages\":[{\"role\":\"system\",\"content\":"
            + "\"You are a concise assistant.\"},{\"role\":\"user\",\"content\":\"Summarise the benefits of an LLM gateway in one line.\"}]%s}";
    /** BENCH_EXTRA: members added to every request body, e.g. {@code ,"metadata":{"job_id":"j1"}} (bench/log-ab.sh). */
    private static final String EXTRA = System.getenv().getOrDefault("BENCH_EXTRA", "");

    public static void main(String[] args) throws Exception {
        Map<String, InetSocketAddress> targets = new LinkedHashMap<>();
        int rate = 1000;
        int[] streamRates = {1000, 200};
        int warmup = 10;
        int seconds = 20;
        String model = "bench";
        Path out = null;
        String only = "";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--target" -> {
                    String[] kv = args[++i].split("=", 2);
                    String[] hp = kv[1].split(":");
                    targets.put(kv[0], new InetSocketAddress(hp[0], Integer.parseInt(hp[1])));
                }
                case "--rate" -> rate = Integer.parseInt(args[++i]);
                case "--stream-rate" -> streamRates = java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--model" -> model = args[++i];
                case "--out" -> out = Path.of(args[++i]);
                case "--only" -> only = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (!targets.containsKey("direct") || !targets.containsKey("gateway")) {
            throw new IllegalArgumentException("need --target direct=HOST:PORT and --target gateway=HOST:PORT");
        }
        Transport transport = Transport.select("auto");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, transport.ioHandlerFactory());
        byte[] plain = String.format(CHAT, model, false, EXTRA).getBytes(StandardCharsets.UTF_8);
        byte[] stream = String.format(CHAT, model, true, EXTRA).getBytes(StandardCharsets.UTF_8);
        long warm = warmup * 1_000_000_000L;
        long measure = seconds * 1_000_000_000L;

        StringBuilder report = new StringBuilder();
        report.append(String.format("# Nemo Router overhead (%s)%n%n", java.time.Instant.now()));
        report.append(String.format("Open-model load sent to all targets at once (each target at the stated rate, staggered within the period in a random order drawn anew every period), %d s warm-up then %d s measured; latency from when each request was due.%n%n",
                warmup, seconds));

        EventLoop loop = group.next();
        List<FixedRateLoad.Result> plainResults = only.equals("stream") ? List.of()
                : together(loop, transport, targets, plain, rate, warm, measure);
        // streams at the one fixed rate, and at a low rate too: an idle machine pays more per hop
        Map<Integer, List<FixedRateLoad.Result>> streamResults = new LinkedHashMap<>();
        for (int streamRate : only.equals("plain") ? new int[0] : streamRates) {
            streamResults.put(streamRate, together(loop, transport, targets, stream, streamRate, warm, measure));
        }
        group.shutdownGracefully().sync();

        if (!plainResults.isEmpty()) {
            report.append(String.format("## Non-streaming chat at %d requests/s (time to last byte)%n%n", rate));
            table(report, plainResults, false);
        }
        for (var e : streamResults.entrySet()) {
            report.append(String.format("%n## Streaming chat at %d requests/s (time to first byte)%n%n", e.getKey()));
            table(report, e.getValue(), true);
        }
        report.append("\n").append(gatewaySelfReport(targets.get("gateway")));
        System.out.print(report);
        if (out != null) {
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.writeString(out, report.toString());
        }
    }

    /**
     * Runs the same load against every target at once, each target's requests offset by an even
     * share of the period (in a random order drawn anew every period, see {@link FixedRateLoad#start(long, int, int)}),
     * so all of them meet the same machine (same noise, same moment) and their difference is the
     * hop, not the minute they ran in.
     */
    private static List<FixedRateLoad.Result> together(EventLoop loop, Transport transport, Map<String, InetSocketAddress> targets,
                                                       byte[] body, int rate, long warm, long measure) throws InterruptedException {
        System.err.printf("%d requests/s to each of %s, %s%n", rate, targets.keySet(), new String(body, StandardCharsets.UTF_8).contains("\"stream\":true") ? "streaming" : "non-streaming");
        long t0 = System.nanoTime() + 50_000_000L;
        List<FixedRateLoad> loads = new ArrayList<>();
        int k = 0;
        for (var t : targets.entrySet()) {
            loads.add(new FixedRateLoad(loop, transport.socketChannel(), t.getValue(), "/v1/chat/completions", body, rate,
                    warm, measure, 256).start(t0, k++, targets.size()));
        }
        List<FixedRateLoad.Result> results = new ArrayList<>();
        k = 0;
        for (String name : targets.keySet()) {
            results.add(loads.get(k++).result(name));
        }
        return results;
    }

    private static void table(StringBuilder b, List<FixedRateLoad.Result> results, boolean firstByte) {
        b.append("| target | ok | failed | achieved/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs |\n");
        b.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        Histogram direct = pick(results.get(0), firstByte);
        for (FixedRateLoad.Result r : results) {
            Histogram h = pick(r, firstByte);
            b.append(String.format("| %s | %d | %d | %.0f | %s | %s | %s | %s | %s |%n", r.name(), r.completed(), r.failed(), r.rps(),
                    us(h.getValueAtPercentile(50)), us(h.getValueAtPercentile(90)), us(h.getValueAtPercentile(99)),
                    us(h.getValueAtPercentile(99.9)), us(h.getMaxValue())));
        }
        for (FixedRateLoad.Result r : results.subList(1, results.size())) {
            Histogram h = pick(r, firstByte);
            b.append(String.format("%n**Added by %s** (its percentile minus direct's): p50 %s µs, p99 %s µs%n", r.name(),
                    us(h.getValueAtPercentile(50) - direct.getValueAtPercentile(50)),
                    us(h.getValueAtPercentile(99) - direct.getValueAtPercentile(99))));
        }
    }

    private static Histogram pick(FixedRateLoad.Result r, boolean firstByte) {
        return firstByte ? r.firstByte() : r.total();
    }

    private static String us(long nanos) {
        return String.format("%.1f", nanos / 1000.0);
    }

    /** The gateway's own account of its overhead, from /metrics (sum / count of the overhead histogram). */
    private static String gatewaySelfReport(InetSocketAddress gateway) {
        try {
            String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://" + gateway.getHostString() + ":" + gateway.getPort() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            double sum = 0;
            double count = 0;
            for (String line : metrics.split("\n")) {
                if (line.startsWith("nemo_gateway_overhead_seconds_sum{route=\"chat_completions\"")) {
                    sum = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                } else if (line.startsWith("nemo_gateway_overhead_seconds_count{route=\"chat_completions\"")) {
                    count = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return count == 0 ? "" : String.format("The gateway's own measure (x-nemo-overhead-ms, every request of the run): mean %.1f µs over %.0f requests.%n",
                    sum / count * 1e6, count);
        } catch (Exception e) {
            return "";
        }
    }
}
