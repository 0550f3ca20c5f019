package io.nemorouter.filters.accounting;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.OpenAiError;
import io.nemorouter.filters.keys.Principal;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;

/**
 * {@code GET /spend/logs} (records, newest first, filtered, paged by cursor) and
 * {@code GET /spend/report} (sums per group and interval, from the rollups). The master key reads
 * everything; a virtual key reads its own records, and its report is summed from them. Work runs
 * on the API's own thread, never an event loop; the answer goes back through the exchange.
 */
final class SpendApi {
    private static final Logger LOG = LoggerFactory.getLogger(SpendApi.class);
    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 1000;
    /** Lines one /spend/logs request looks at, at most; past it the answer has a cursor to go on from. */
    static final int SCAN_LIMIT = 200_000;
    /**
     * How far out of time order a line may be: event loops stamp records before they reach the one
     * queue, so a record may follow a slightly newer one; reading newest first stops only past this.
     */
    static final long ORDER_SLACK_MILLIS = 60_000;
    /** The report's group_by values that are not metadata members. */
    private static final List<String> GROUPS = List.of("key", "team", "org", "model", "deployment", "provider", "tag",
            "variant", "job_id", "stage");
    private static final List<String> LOG_FILTERS = List.of("key", "team", "org", "model", "deployment", "provider", "tag",
            "variant", "job_id", "stage", "status", "cache", "request_id", "from", "to", "limit", "cursor");

    private final Path dir;
    private final Rollups rollups;
    private final int maxValuesPerHour;
    private final ExecutorService worker;
    private final Clock clock;
    /** In cluster mode, the other replicas' sums; else null. */
    private final ClusterSpend cluster;

    SpendApi(Path dir, Rollups rollups, int maxValuesPerHour, ExecutorService worker, Clock clock) {
        this(dir, rollups, maxValuesPerHour, worker, clock, null);
    }

    SpendApi(Path dir, Rollups rollups, int maxValuesPerHour, ExecutorService worker, Clock clock, ClusterSpend cluster) {
        this.dir = dir;
        this.rollups = rollups;
        this.maxValuesPerHour = maxValuesPerHour;
        this.worker = worker;
        this.clock = clock;
        this.cluster = cluster;
    }

    /** In cluster mode, what a report or log answer covers: {@code cluster} (every replica) or {@code local} (this one). */
    static final String SCOPE_HEADER = "x-nemo-spend-scope";

    /** A request the caller got wrong: answered 400 with the parameter named. */
    static final class BadQuery extends RuntimeException {
        final String param;

        BadQuery(String param, String message) {
            super(message);
            this.param = param;
        }
    }

    void logs(Exchange ex) {
        run(ex, () -> {
            ObjectNode body = logsBody(ex, new QueryStringDecoder(ex.uri()).parameters());
            if (cluster != null) {
                body.put("scope", "local"); // the records are in this replica's files
            }
            return scoped(answer(body), body);
        });
    }

    void report(Exchange ex) {
        run(ex, () -> {
            Map<String, List<String>> q = new QueryStringDecoder(ex.uri()).parameters();
            ObjectNode body = reportBody(ex, q);
            return scoped("csv".equals(one(q, "format")) ? csv(body) : answer(body), body);
        });
    }

    private static FullHttpResponse scoped(FullHttpResponse r, ObjectNode body) {
        if (body.has("scope")) {
            r.headers().set(SCOPE_HEADER, body.get("scope").asText());
        }
        return r;
    }

    private interface Work {
        FullHttpResponse run() throws IOException;
    }

    private void run(Exchange ex, Work work) {
        try {
            worker.execute(() -> {
                try {
                    ex.respond(work.run());
                } catch (BadQuery e) {
                    ex.respond(OpenAiError.badRequest("invalid_request", e.param, e.getMessage()));
                } catch (IOException | RuntimeException e) {
                    LOG.warn("spend API: {} failed", ex.path(), e);
                    ex.respond(new OpenAiError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "api_error", "spend_read_failed",
                            null, "The request log could not be read: " + e.getMessage()));
                }
            });
        } catch (RejectedExecutionException e) {
            ex.respond(new OpenAiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "api_error", "shutting_down", null,
                    "The gateway is shutting down."));
        }
    }

    // ---- /spend/logs ---------------------------------------------------------------------------

    ObjectNode logsBody(Exchange ex, Map<String, List<String>> q) throws IOException {
        for (String p : q.keySet()) {
            if (!LOG_FILTERS.contains(p) && !p.startsWith("metadata.")) {
                throw new BadQuery(p, "Unknown parameter `" + p + "`; filters: " + String.join(", ", LOG_FILTERS)
                        + ", or metadata.<name>.");
            }
        }
        String ownKey = ownKey(ex, one(q, "key"));
        int limit = intParam(q, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT);
        long from = time(q, "from", Long.MIN_VALUE);
        long to = time(q, "to", Long.MAX_VALUE);
        Rollups.Position before = cursor(one(q, "cursor"));
        List<Path> files = new ArrayList<>();
        for (Path p : LogFiles.list(dir)) {
            LocalDate day = LogFiles.dayOf(p.getFileName().toString());
            // a file holds its day's records and a few from just before it (late across midnight)
            if (!day.isBefore(LogFiles.day(from == Long.MIN_VALUE ? 0 : from)) && (to == Long.MAX_VALUE
                    || !day.isAfter(LogFiles.day(to).plusDays(1)))) {
                files.add(p);
            }
        }
        ArrayNode data = RecordJson.MAPPER.createArrayNode();
        Rollups.Position[] next = {null};
        int[] seen = {0};
        boolean[] more = {false};
        LogReader.backward(dir, files, before, (file, start, end, json) -> {
            long ts = json.path("ts").asLong();
            if (from != Long.MIN_VALUE && ts < from - ORDER_SLACK_MILLIS) {
                return false; // older from here on (lines are in time order but for records a few ms late)
            }
            if (ts >= from && ts < to && matches(json, q, ownKey)) {
                if (data.size() == limit) {
                    more[0] = true;
                    next[0] = new Rollups.Position(file, end); // the next page starts with this line
                    return false;
                }
                data.add(json);
            }
            if (++seen[0] >= SCAN_LIMIT) {
                more[0] = true;
                next[0] = new Rollups.Position(file, start); // the next page starts after this line
                return false;
            }
            return true;
        });
        ObjectNode body = RecordJson.MAPPER.createObjectNode();
        body.put("object", "list");
        body.set("data", data);
        body.put("has_more", more[0]);
        if (more[0] && next[0] != null) {
            body.put("next_cursor", Base64.getUrlEncoder().withoutPadding().encodeToString(
                    (next[0].file() + ":" + next[0].offset()).getBytes(StandardCharsets.UTF_8)));
        } else {
            body.putNull("next_cursor");
        }
        return body;
    }

    private static boolean matches(JsonNode r, Map<String, List<String>> q, String ownKey) {
        if (ownKey != null && !ownKey.equals(r.path("key_id").asText(null))) {
            return false;
        }
        for (Map.Entry<String, List<String>> e : q.entrySet()) {
            String want = e.getValue().isEmpty() ? "" : e.getValue().get(0);
            boolean ok = switch (e.getKey()) {
                case "key" -> want.equals(r.path("key_id").asText(null)) || want.equals(r.path("key_alias").asText(null));
                case "team" -> want.equals(r.path("team_id").asText(null));
                case "org" -> want.equals(r.path("org_id").asText(null));
                case "model", "deployment", "provider", "cache", "variant" -> want.equals(r.path(e.getKey()).asText(null));
                case "tag" -> contains(r.path("tags"), want);
                case "request_id" -> want.equals(r.path("id").asText(null)); // one call, e.g. the answer's x-request-id
                case "job_id", "stage" -> want.equals(scalar(r.path("metadata").get(e.getKey())));
                case "status" -> status(r.path("status").asInt(), want);
                case "from", "to", "limit", "cursor" -> true;
                default -> want.equals(scalar(r.path("metadata").get(e.getKey().substring("metadata.".length()))));
            };
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private static String scalar(JsonNode v) {
        return v == null || !v.isValueNode() || v.isNull() ? null : v.asText();
    }

    private static boolean contains(JsonNode tags, String want) {
        for (JsonNode t : tags) {
            if (want.equals(t.asText())) {
                return true;
            }
        }
        return false;
    }

    private static boolean status(int status, String want) {
        return switch (want) {
            case "error" -> status >= 400;
            case "ok" -> status < 400;
            default -> want.equals(Integer.toString(status));
        };
    }

    // ---- /spend/report -------------------------------------------------------------------------

    ObjectNode reportBody(Exchange ex, Map<String, List<String>> q) throws IOException {
        for (String p : q.keySet()) {
            if (!List.of("group_by", "from", "to", "interval", "format", "model", "job_id", "key").contains(p)) {
                throw new BadQuery(p, "Unknown parameter `" + p + "`; use group_by, from, to, interval, format, and one of "
                        + "model, job_id or key.");
            }
        }
        String groupBy = one(q, "group_by");
        if (groupBy != null && !GROUPS.contains(groupBy) && !(groupBy.startsWith("metadata.") && groupBy.length() > 9)) {
            throw new BadQuery("group_by", "`group_by` must be one of " + String.join(", ", GROUPS)
                    + ", or metadata.<name>; got `" + groupBy + "`.");
        }
        String interval = one(q, "interval");
        int intervalHours = interval == null ? 0 : switch (interval) {
            case "hour" -> 1;
            case "day" -> 24;
            default -> throw new BadQuery("interval", "`interval` must be hour or day.");
        };
        String format = one(q, "format");
        if (format != null && !format.equals("csv") && !format.equals("json")) {
            throw new BadQuery("format", "`format` must be json or csv.");
        }
        long now = clock.millis();
        long from = time(q, "from", now - 30L * 86_400_000L);
        long to = time(q, "to", now);
        if (to <= from) {
            throw new BadQuery("to", "`to` must be after `from`.");
        }
        long fromHour = Math.floorDiv(from, 3_600_000L);
        long toHour = Math.floorDiv(to + 3_599_999L, 3_600_000L);
        String ownKey = ownKey(ex, one(q, "key"));
        String dim = Rollups.dimension(groupBy);
        String[] narrow = narrow(q, ownKey);
        Rollups source = rollups;
        if (ownKey != null && !(narrow[0].equals("key") && (dim.equals(Rollups.ALL) || Rollups.KEY_NARROWED.contains(dim)))) {
            // a virtual key's report the sums do not keep per key (by team, or narrowed further): from its records
            source = ownRollups(ownKey, fromHour, toHour);
            narrow = one(q, "model") != null ? new String[]{"model", one(q, "model")}
                    : one(q, "job_id") != null ? new String[]{"job_id", one(q, "job_id")} : null;
        }
        String totalDim = Rollups.ALL;
        String rowDim = dim;
        String by = narrow == null ? null : narrow[0];
        String narrowValue = narrow == null ? null : narrow[1];
        if (narrow != null) {
            List<String> allowed = Rollups.narrowable(by);
            if (!dim.equals(Rollups.ALL) && !allowed.contains(dim)) {
                throw new BadQuery(by, "A report narrowed by `" + by + "` groups by "
                        + String.join(", ", allowed.stream().map(d -> d.replace("metadata.", "")).toList()) + ".");
            }
            totalDim = Rollups.narrowedTotal(by);
            rowDim = dim.equals(Rollups.ALL) ? totalDim : dim;
        }
        Sources summed = sources(source, new java.util.LinkedHashSet<>(List.of(Rollups.stored(rowDim, by),
                Rollups.stored(totalDim, by))), fromHour, toHour);
        List<Rollups> sources = summed.rollups();
        Rollups.Report report = Rollups.report(sources, rowDim, totalDim, by, narrowValue, fromHour, toHour, intervalHours);
        List<Rollups.Row> rows = report.rows();
        if (narrow != null && dim.equals(Rollups.ALL)) {
            rows = collapse(rows);
        }
        rows.sort(Comparator.comparingLong((Rollups.Row r) -> -r.sums().costNanos)
                .thenComparingLong(r -> -r.sums().requests).thenComparing(Rollups.Row::group)
                .thenComparing(r -> r.intervalStart() == null ? 0 : r.intervalStart()));
        Cell total = new Cell();
        for (Rollups.Row r : report.totalRows()) {
            total.merge(r.sums()); // narrowed: the sum of one grouping's rows, each call in exactly one of them
        }
        ObjectNode body = RecordJson.MAPPER.createObjectNode();
        body.put("object", "spend.report");
        body.put("group_by", groupBy == null ? null : groupBy);
        body.put("from", Instant.ofEpochMilli(fromHour * 3_600_000L).toString());
        body.put("to", Instant.ofEpochMilli(toHour * 3_600_000L).toString());
        body.put("interval", interval);
        if (narrow != null) {
            body.put(narrow[0], narrow[1]);
        }
        if (summed.scope() != null) {
            body.put("scope", summed.scope());
            if (summed.rollups().size() > 1) {
                body.put("replicas", summed.replicas());
            }
        }
        Map<String, String> aliases = dim.equals("key") ? aliases(source, rows, summed.rollups().size() > 1) : Map.of();
        ArrayNode data = body.putArray("data");
        for (Rollups.Row r : rows) {
            ObjectNode row = data.addObject();
            row.put("group", r.group());
            if (dim.equals("key")) {
                row.put("key_alias", aliases.get(r.group()));
            }
            if (r.intervalStart() != null) {
                row.put("interval_start", Instant.ofEpochMilli(r.intervalStart()).toString());
            }
            sums(row, r.sums());
        }
        sums(body.putObject("totals"), total);
        return body;
    }

    /**
     * What the report is narrowed to ({by, value}), or null: the one of {@code model}, {@code job_id}
     * and {@code key} given; a virtual key's report is always its own key's.
     */
    private static String[] narrow(Map<String, List<String>> q, String ownKey) {
        List<String[]> given = new ArrayList<>();
        for (String by : new String[]{"model", "job_id", "key"}) {
            if (one(q, by) != null) {
                given.add(new String[]{by, one(q, by)});
            }
        }
        if (ownKey != null) {
            return new String[]{"key", ownKey};
        }
        if (given.size() > 1) {
            throw new BadQuery(given.get(1)[0], "A report narrows to one model, one job or one key, not more.");
        }
        if (given.isEmpty()) {
            return null;
        }
        String[] n = given.get(0);
        return n;
    }

    /** What a report sums, what that covers in cluster mode ({@code cluster} or {@code local}), and how many replicas. */
    private record Sources(List<Rollups> rollups, String scope, int replicas) {
    }

    /**
     * {@code source}; in cluster mode with the other replicas' sums of {@code dims} from Redis, unless
     * Redis does not answer (counted) or the report is a virtual key's summed from this replica's records.
     */
    private Sources sources(Rollups source, java.util.Collection<String> dims, long fromHour, long toHour) {
        if (cluster == null) {
            return new Sources(List.of(source), null, 1);
        }
        if (source != rollups) {
            return new Sources(List.of(source), "local", 1);
        }
        try {
            ClusterSpend.Others others = cluster.others(dims, fromHour, toHour);
            cluster.readAll();
            return new Sources(List.of(source, others.sums()), "cluster", others.replicas());
        } catch (ClusterSpend.Unavailable e) {
            cluster.readAlone(e);
            return new Sources(List.of(source), "local", 1);
        }
    }

    /** The key aliases of a report by key: as this replica last saw them, else (in cluster mode) as another did. */
    private Map<String, String> aliases(Rollups source, List<Rollups.Row> rows, boolean acrossReplicas) {
        Map<String, String> out = new java.util.HashMap<>();
        java.util.Set<String> unknown = new java.util.HashSet<>();
        for (Rollups.Row r : rows) {
            String alias = source.keyAlias(r.group());
            if (alias != null) {
                out.put(r.group(), alias);
            } else {
                unknown.add(r.group());
            }
        }
        if (acrossReplicas) {
            out.putAll(cluster.aliases(unknown));
        }
        return out;
    }

    /** Rows of a narrowed total, one per interval, as the single group {@code all}. */
    private static List<Rollups.Row> collapse(List<Rollups.Row> rows) {
        Map<Long, Cell> byInterval = new java.util.HashMap<>();
        for (Rollups.Row r : rows) {
            byInterval.computeIfAbsent(r.intervalStart() == null ? Long.MIN_VALUE : r.intervalStart(), k -> new Cell()).merge(r.sums());
        }
        List<Rollups.Row> out = new ArrayList<>();
        byInterval.forEach((k, c) -> out.add(new Rollups.Row(Rollups.ALL, k == Long.MIN_VALUE ? null : k, c)));
        return out;
    }

    /** A virtual key's report: its own records in the range, summed as the rollups would. */
    private Rollups ownRollups(String keyId, long fromHour, long toHour) throws IOException {
        Rollups own = new Rollups(maxValuesPerHour);
        long from = fromHour * 3_600_000L;
        long to = toHour * 3_600_000L;
        LocalDate firstDay = LogFiles.day(from);
        LocalDate lastDay = LogFiles.day(to).plusDays(1); // a file may start with records late from the day before
        LogReader.forward(dir, null, name -> !LogFiles.dayOf(name).isBefore(firstDay) && !LogFiles.dayOf(name).isAfter(lastDay),
                (file, start, end, json) -> {
            long ts = json.path("ts").asLong();
            if (ts >= from && ts < to && keyId.equals(json.path("key_id").asText(null))) {
                CallRecord r = RecordJson.read(json);
                if (r != null) {
                    own.add(r, json.get("metadata"));
                }
            }
            return true;
        });
        return own;
    }

    static void sums(ObjectNode o, Cell c) {
        o.put("requests", c.requests);
        o.put("errors", c.errors);
        o.put("input_tokens", c.inputTokens);
        o.put("output_tokens", c.outputTokens);
        o.put("cached_tokens", c.cachedTokens);
        o.put("cost", c.costNanos / 1e9);
        o.put("cache_hits", c.cacheHits);
        o.put("saved_cost", c.savedNanos / 1e9);
        o.put("usage_estimated", c.estimated);
        ObjectNode l = o.putObject("latency_ms");
        l.put("p50", c.percentileMs(50));
        l.put("p95", c.percentileMs(95));
        l.put("p99", c.percentileMs(99));
    }

    private static FullHttpResponse csv(ObjectNode body) {
        StringBuilder b = new StringBuilder("group,interval_start,requests,errors,input_tokens,output_tokens,cached_tokens,"
                + "cost,cache_hits,saved_cost,usage_estimated,p50_ms,p95_ms,p99_ms\n");
        for (JsonNode r : body.path("data")) {
            b.append(csvField(r.path("group").asText())).append(',').append(r.path("interval_start").asText(""));
            for (String f : new String[]{"requests", "errors", "input_tokens", "output_tokens", "cached_tokens", "cost",
                    "cache_hits", "saved_cost", "usage_estimated"}) {
                b.append(',').append(r.path(f).asText());
            }
            for (String p : new String[]{"p50", "p95", "p99"}) {
                b.append(',').append(r.path("latency_ms").path(p).asText());
            }
            b.append('\n');
        }
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.copiedBuffer(b, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/csv; charset=utf-8");
        r.headers().set(HttpHeaderNames.CONTENT_DISPOSITION, "attachment; filename=\"spend-report.csv\"");
        return r;
    }

    private static String csvField(String s) {
        // quoted when it could break the row; a leading = + - @ tab or CR is defused (spreadsheet formulas)
        String v = !s.isEmpty() && "=+-@\t\r".indexOf(s.charAt(0)) >= 0 ? "'" + s : s;
        return v.contains(",") || v.contains("\"") || v.contains("\n") || v.contains("\r") ? "\"" + v.replace("\"", "\"\"") + "\"" : v;
    }

    // ---- plumbing ------------------------------------------------------------------------------

    /** Null for the master key (reads all); a virtual key's id, refusing a {@code key} filter that is not it. */
    private static String ownKey(Exchange ex, String keyParam) {
        Principal p = ex.get(Principal.KEY);
        if (p == null || p.master()) {
            return null;
        }
        String own = p.keyRecord().id();
        if (keyParam != null && !keyParam.equals(own) && !keyParam.equals(p.keyRecord().alias())) {
            throw new BadQuery("key", "A virtual key reads only its own records.");
        }
        return own;
    }

    private static String one(Map<String, List<String>> q, String name) {
        List<String> v = q.get(name);
        return v == null || v.isEmpty() || v.get(0).isBlank() ? null : v.get(0);
    }

    private static int intParam(Map<String, List<String>> q, String name, int dflt, int min, int max) {
        String v = one(q, name);
        if (v == null) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new BadQuery(name, "`" + name + "` must be a whole number from " + min + " to " + max + ".");
        }
    }

    /** An instant ({@code 2026-12-02T10:00:00Z}), a day ({@code 2026-12-02}, its start in UTC), or epoch milliseconds. */
    static long time(Map<String, List<String>> q, String name, long dflt) {
        String v = one(q, name);
        if (v == null) {
            return dflt;
        }
        try {
            long t;
            if (v.chars().allMatch(Character::isDigit)) {
                t = Long.parseLong(v);
            } else if (v.length() == 10) {
                // a day: from its start; to its end (to=2026-12-02 takes in all of that day)
                LocalDate day = LocalDate.parse(v);
                t = (name.equals("to") ? day.plusDays(1) : day).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
            } else {
                t = Instant.parse(v).toEpochMilli();
            }
            if (t < 0 || t > LATEST) {
                throw new IllegalArgumentException();
            }
            return t;
        } catch (RuntimeException e) {
            throw new BadQuery(name, "`" + name + "` must be an instant (2026-12-02T10:00:00Z), a day (2026-12-02) "
                    + "or epoch milliseconds; got `" + v + "`.");
        }
    }

    /** 2200-01-01: later times are refused (sums of hours stay far from overflow). */
    private static final long LATEST = 7_258_118_400_000L;

    private static Rollups.Position cursor(String c) {
        if (c == null) {
            return null;
        }
        try {
            String s = new String(Base64.getUrlDecoder().decode(c), StandardCharsets.UTF_8);
            int colon = s.lastIndexOf(':');
            String file = s.substring(0, colon);
            if (LogFiles.dayOf(file) == null) {
                throw new IllegalArgumentException();
            }
            return new Rollups.Position(file, Long.parseLong(s.substring(colon + 1)));
        } catch (RuntimeException e) {
            throw new BadQuery("cursor", "`cursor` is not one this API gave out.");
        }
    }

    private static FullHttpResponse answer(ObjectNode body) throws IOException {
        byte[] bytes = RecordJson.MAPPER.writeValueAsBytes(body);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(bytes));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        return r;
    }
}
