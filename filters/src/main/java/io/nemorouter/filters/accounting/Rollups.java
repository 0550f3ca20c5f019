package io.nemorouter.filters.accounting;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Spend sums kept as calls complete, so a report reads sums instead of scanning the log: per hour,
 * per dimension ({@code key}, {@code team}, {@code org}, {@code model}, {@code deployment},
 * {@code provider}, {@code tag}, and {@code metadata.<name>} for each scalar metadata member, which
 * {@code job_id} and {@code stage} are), per value, one {@link Cell}. A report over any range is a
 * merge of at most (hours x groups) cells, whatever the number of calls. Written by the log's writer
 * thread, read by report requests: one lock, held briefly by each.
 *
 * <p>Persisted as a snapshot (atomically replaced) that names the log position it covers; at start
 * the log after that position is replayed, so the sums survive a restart and a kill.
 */
final class Rollups {
    static final String ALL = "all";
    static final String NONE = "(none)";
    static final String OTHER = "(other)";
    private static final int MAGIC = 0x4e524f4c; // "NROL"
    private static final int VERSION = 4;
    /** Metadata members rolled up per call, at most (a call with more has the rest left out of reports). */
    private static final int MAX_METADATA_KEYS = 32;

    /** hour (epoch hours) -> dimension -> value -> sums. */
    private final TreeMap<Long, Map<String, Map<String, Cell>>> hours = new TreeMap<>();
    /** A key id's alias as last seen, for reports. */
    private final Map<String, String> keyAliases = new HashMap<>();
    private final int maxValuesPerHour;

    Rollups(int maxValuesPerHour) {
        this.maxValuesPerHour = maxValuesPerHour;
    }

    /** Adds one call. {@code metadata}: the record's metadata parsed (an object), or null. */
    synchronized void add(CallRecord r, JsonNode metadata) {
        long h = Math.floorDiv(r.time(), 3_600_000L);
        Map<String, Map<String, Cell>> hour = h == lastHour && lastHourMap != null ? lastHourMap
                : hours.computeIfAbsent(h, x -> new HashMap<>());
        lastHour = h;
        addingHour = h;
        lastHourMap = hour;
        Cell.Contribution c = Cell.Contribution.of(r);
        String key = r.keyGroup();
        String team = orNone(r.teamId());
        String org = orNone(r.orgId());
        String model = orNone(r.model());
        String deployment = orNone(r.deployment());
        String provider = orNone(r.provider());
        cell(hour, ALL, ALL).add(c);
        cell(hour, "key", key).add(c);
        cell(hour, "team", team).add(c);
        cell(hour, "org", org).add(c);
        cell(hour, "model", model).add(c);
        cell(hour, "deployment", deployment).add(c);
        cell(hour, "provider", provider).add(c);
        for (String t : r.tags()) {
            cell(hour, "tag", t).add(c);
        }
        if (r.variant() != null) {
            cell(hour, "variant", r.variant()).add(c);
        }
        // narrowed reports: "who spent most on this model", "this job's cost per stage", "this key's per model"
        String m = clean(model);
        pair(hour, KEY_BY_MODEL, m, key).add(c);
        pair(hour, TEAM_BY_MODEL, m, team).add(c);
        pair(hour, ORG_BY_MODEL, m, org).add(c);
        pair(hour, DEPLOYMENT_BY_MODEL, m, deployment).add(c);
        String k = clean(key);
        pair(hour, MODEL_BY_KEY, k, model).add(c);
        pair(hour, DEPLOYMENT_BY_KEY, k, deployment).add(c);
        pair(hour, PROVIDER_BY_KEY, k, provider).add(c);
        for (String t : r.tags()) {
            pair(hour, TAG_BY_KEY, k, t).add(c);
        }
        String job = metadata == null ? null : scalar(metadata.get("job_id"));
        String stage = metadata == null ? null : scalar(metadata.get("stage"));
        if (job != null) {
            String j = clean(job);
            pair(hour, JOB_BY_KEY, k, job).add(c);
            if (stage != null) {
                pair(hour, STAGE_BY_JOB, j, stage).add(c);
            }
            pair(hour, MODEL_BY_JOB, j, model).add(c);
            pair(hour, KEY_BY_JOB, j, key).add(c);
        }
        if (stage != null) {
            pair(hour, STAGE_BY_KEY, k, stage).add(c);
        }
        if (metadata != null && metadata.isObject()) {
            int n = 0;
            for (Iterator<Map.Entry<String, JsonNode>> it = metadata.fields(); it.hasNext() && n < MAX_METADATA_KEYS; ) {
                Map.Entry<String, JsonNode> e = it.next();
                String dim = metadataDimension(e.getKey());
                if (dim != null && e.getValue().isValueNode() && !e.getValue().isNull()
                        && (hour.containsKey(dim) || metadataDimensions(hour) < MAX_METADATA_DIMENSIONS)) {
                    cell(hour, dim, e.getValue().asText()).add(c);
                    n++;
                }
            }
        }
        if (r.keyId() != null && r.keyAlias() != null && !r.keyAlias().equals(keyAliases.put(r.keyId(), r.keyAlias()))
                && unsharedAliases != null) {
            unsharedAliases.put(r.keyId(), r.keyAlias());
        }
    }

    /** Groupings a report may narrow to one model ({@code model=}), and to one job ({@code job_id=}). */
    static final java.util.List<String> MODEL_NARROWED = java.util.List.of("key", "team", "org", "deployment");
    static final java.util.List<String> JOB_NARROWED = java.util.List.of("metadata.stage", "model", "key");
    /** ... and to one key ({@code key=}, and a virtual key's own report). */
    static final java.util.List<String> KEY_NARROWED = java.util.List.of("model", "deployment", "provider", "tag",
            "metadata.job_id", "metadata.stage");

    /** The groupings a report may narrow by {@code by}. */
    static java.util.List<String> narrowable(String by) {
        return switch (by) {
            case "model" -> MODEL_NARROWED;
            case "job_id" -> JOB_NARROWED;
            default -> KEY_NARROWED;
        };
    }

    /** A grouping every call of a narrowing by {@code by} is in exactly once: its rows sum to the total. */
    static String narrowedTotal(String by) {
        return by.equals("model") ? "key" : "model";
    }

    /** Separates the narrowing value from the group in a pair dimension's values; no value holds it (see {@link #clean}). */
    private static final char SEP = '\u0001';
    /** Distinct metadata members summed per hour, at most (their names are the client's: they must stay bounded). */
    private static final int MAX_METADATA_DIMENSIONS = 64;

    /** The dimension of {@code dim}'s sums narrowed by {@code by}: one dimension, its values {@code narrowValue SEP group}. */
    static String pairDimension(String dim, String by) {
        return dim + "|" + by;
    }

    /** {@code narrowValue} already {@link #clean}ed; {@code pairDimension} one of the constants below. */
    private Cell pair(Map<String, Map<String, Cell>> hour, String pairDimension, String narrowValue, String group) {
        return cell(hour, pairDimension, narrowValue + SEP + clean(group), narrowValue + SEP + OTHER);
    }

    private static final String KEY_BY_MODEL = pairDimension("key", "model");
    private static final String TEAM_BY_MODEL = pairDimension("team", "model");
    private static final String ORG_BY_MODEL = pairDimension("org", "model");
    private static final String DEPLOYMENT_BY_MODEL = pairDimension("deployment", "model");
    private static final String MODEL_BY_KEY = pairDimension("model", "key");
    private static final String DEPLOYMENT_BY_KEY = pairDimension("deployment", "key");
    private static final String PROVIDER_BY_KEY = pairDimension("provider", "key");
    private static final String TAG_BY_KEY = pairDimension("tag", "key");
    private static final String JOB_BY_KEY = pairDimension("metadata.job_id", "key");
    private static final String STAGE_BY_KEY = pairDimension("metadata.stage", "key");
    private static final String STAGE_BY_JOB = pairDimension("metadata.stage", "job_id");
    private static final String MODEL_BY_JOB = pairDimension("model", "job_id");
    private static final String KEY_BY_JOB = pairDimension("key", "job_id");
    /** The hour the last call fell in, and its map: consecutive calls mostly share one. */
    private long lastHour = Long.MIN_VALUE;
    private Map<String, Map<String, Cell>> lastHourMap;

    /** {@code metadata.<name>}, or null for a name that cannot be one (too long, or with a separator or control character). */
    static String metadataDimension(String name) {
        if (name.isEmpty() || name.length() > 64) {
            return null;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 0x20 || c == '|' || c == 0x7f) {
                return null;
            }
        }
        return "metadata." + name;
    }

    private static int metadataDimensions(Map<String, Map<String, Cell>> hour) {
        int n = 0;
        for (String d : hour.keySet()) {
            if (d.startsWith("metadata.") && d.indexOf('|') < 0) {
                n++;
            }
        }
        return n;
    }

    /** A group value as reports show it: at most 200 characters, control characters as spaces. */
    static String clean(String value) {
        String v = value.length() > MAX_VALUE_CHARS ? value.substring(0, MAX_VALUE_CHARS) : value;
        for (int i = 0; i < v.length(); i++) {
            if (v.charAt(i) < 0x20 || v.charAt(i) == 0x7f) {
                StringBuilder b = new StringBuilder(v);
                for (int k = i; k < b.length(); k++) {
                    if (b.charAt(k) < 0x20 || b.charAt(k) == 0x7f) {
                        b.setCharAt(k, ' ');
                    }
                }
                return b.toString();
            }
        }
        return v;
    }

    private static String scalar(JsonNode v) {
        return v == null || !v.isValueNode() || v.isNull() ? null : v.asText();
    }

    private static String orNone(String v) {
        return v == null ? NONE : v;
    }

    /** Longer group values (a metadata string) are cut: a report groups by them, it does not store documents. */
    private static final int MAX_VALUE_CHARS = 200;

    private Cell cell(Map<String, Map<String, Cell>> hour, String dim, String value) {
        return cell(hour, dim, clean(value), OTHER);
    }

    /**
     * The cell of {@code value} (already {@link #clean}ed); past the cap of distinct values, {@code overflow}'s
     * (a pair dimension's keeps its narrowing value), and past twice the cap the dimension's one {@code (other)}:
     * whatever clients send, a dimension holds at most 2 x cap + 1 cells an hour.
     */
    private Cell cell(Map<String, Map<String, Cell>> hour, String dim, String value, String overflow) {
        Map<String, Cell> values = hour.computeIfAbsent(dim, d -> new HashMap<>());
        Cell c = values.get(value);
        if (c != null) {
            return touched(c, dim, value);
        }
        if (values.size() >= maxValuesPerHour) {
            value = values.containsKey(overflow) || values.size() < 2 * maxValuesPerHour ? overflow
                    : overflow.equals(OTHER) ? OTHER : OTHER + SEP + OTHER;
            c = values.get(value);
            if (c != null) {
                return touched(c, dim, value);
            }
        }
        c = new Cell();
        values.put(value, c);
        return touched(c, dim, value);
    }

    /** {@link #cell}, noted as changed when the cluster shares these sums. */
    private Cell touched(Cell c, String dim, String value) {
        if (unshared != null && !c.unshared) {
            c.unshared = true;
            unshared.add(new Shared(addingHour, dim, value, c, null));
        }
        return c;
    }

    /** The dimension name a {@code group_by} asks for ({@code job_id} is {@code metadata.job_id}). */
    static String dimension(String groupBy) {
        if (groupBy == null || groupBy.isEmpty()) {
            return ALL;
        }
        return switch (groupBy) {
            case "job_id", "stage" -> "metadata." + groupBy;
            default -> groupBy;
        };
    }

    /** One row of a report: a group (and interval start, when asked) and its merged sums. */
    record Row(String group, Long intervalStart, Cell sums) {
    }

    /**
     * Rows for {@code dim} over whole hours from {@code fromHour} (inclusive) to {@code toHour}
     * (exclusive), per group, and per interval of {@code intervalHours} when that is above 0.
     */
    List<Row> report(String dim, long fromHour, long toHour, int intervalHours) {
        return report(dim, null, null, fromHour, toHour, intervalHours);
    }

    /**
     * As {@link #report(String, long, long, int)}, among the calls whose {@code by} ({@code model},
     * {@code job_id}, {@code key}) is {@code narrowValue}; {@code dim} one of {@link #narrowable}'s.
     */
    List<Row> report(String dim, String by, String narrowValue, long fromHour, long toHour, int intervalHours) {
        return report(List.of(this), dim, by, narrowValue, fromHour, toHour, intervalHours);
    }

    /** The dimension the sums of {@code dim} narrowed by {@code by} (or null) are kept under. */
    static String stored(String dim, String by) {
        return by == null ? dim : pairDimension(dim, by);
    }

    /** As {@link #report(String, String, String, long, long, int)}, over the sums of all of {@code sources} (several replicas'). */
    static List<Row> report(List<Rollups> sources, String dim, String by, String narrowValue, long fromHour, long toHour,
                            int intervalHours) {
        String prefix = by == null ? null : clean(narrowValue) + SEP;
        String d = stored(dim, by);
        Map<String, Cell> byGroup = new HashMap<>();
        for (Rollups source : sources) {
            source.collect(byGroup, d, prefix, fromHour, toHour, intervalHours);
        }
        return rows(byGroup);
    }

    /** A report's rows and the rows its total is summed from (of {@code totalDim}, not by interval). */
    record Report(List<Row> rows, List<Row> totalRows) {
    }

    /**
     * As {@link #report(List, String, String, String, long, long, int)} for {@code dim}, with the rows of
     * {@code totalDim} for its total, both read from each source under one hold of its lock: a call
     * the writer adds meanwhile is in both or in neither, so the rows always sum to the total.
     */
    static Report report(List<Rollups> sources, String dim, String totalDim, String by, String narrowValue, long fromHour,
                         long toHour, int intervalHours) {
        String prefix = by == null ? null : clean(narrowValue) + SEP;
        String d = stored(dim, by);
        String t = stored(totalDim, by);
        Map<String, Cell> byGroup = new HashMap<>();
        Map<String, Cell> totals = new HashMap<>();
        for (Rollups source : sources) {
            synchronized (source) {
                source.collect(byGroup, d, prefix, fromHour, toHour, intervalHours);
                source.collect(totals, t, prefix, fromHour, toHour, 0);
            }
        }
        return new Report(rows(byGroup), rows(totals));
    }

    /** Collected sums as rows: a group's name, and its interval's start where the key carries one. */
    private static List<Row> rows(Map<String, Cell> byGroup) {
        List<Row> rows = new ArrayList<>(byGroup.size());
        for (Map.Entry<String, Cell> e : byGroup.entrySet()) {
            String k = e.getKey();
            int cut = k.indexOf('\u0000');
            rows.add(cut < 0 ? new Row(k, null, e.getValue())
                    : new Row(k.substring(0, cut), Long.parseLong(k.substring(cut + 1)) * 3_600_000L, e.getValue()));
        }
        return rows;
    }

    private synchronized void collect(Map<String, Cell> byGroup, String d, String prefix, long fromHour, long toHour,
                                      int intervalHours) {
        for (Map.Entry<Long, Map<String, Map<String, Cell>>> h : hours.subMap(fromHour, toHour).entrySet()) {
            Map<String, Cell> values = h.getValue().get(d);
            if (values == null) {
                continue;
            }
            for (Map.Entry<String, Cell> v : values.entrySet()) {
                String name = v.getKey();
                if (prefix != null) {
                    if (!name.startsWith(prefix)) {
                        continue;
                    }
                    name = name.substring(prefix.length());
                }
                String group = intervalHours > 0
                        ? name + '\u0000' + (Math.floorDiv(h.getKey(), intervalHours) * intervalHours) : name;
                byGroup.computeIfAbsent(group, g -> new Cell()).merge(v.getValue());
            }
        }
    }

    synchronized String keyAlias(String keyId) {
        return keyAliases.get(keyId);
    }

    /** Drops hours before {@code hour}. */
    synchronized void dropBefore(long hour) {
        hours.headMap(hour).clear();
        lastHourMap = null;
    }

    synchronized int cells() {
        int n = 0;
        for (Map<String, Map<String, Cell>> h : hours.values()) {
            for (Map<String, Cell> d : h.values()) {
                n += d.size();
            }
        }
        return n;
    }

    // ---- cluster mode: what ClusterSpend shares, and the other replicas' sums it reads ---------

    /** One cell to share: where it is, and its sums as {@link Cell#encode} wrote them when taken. */
    record Shared(long hour, String dim, String value, Cell cell, String encoded) {
    }

    /** Cells changed since {@link #takeUnshared} last took them, each once (null: not tracked, outside cluster mode). */
    private List<Shared> unshared;
    private Map<String, String> unsharedAliases;
    /** The hour of the call {@link #add} is adding. */
    private long addingHour;

    /** From now on, notes each changed cell and key alias for {@link #takeUnshared}. */
    synchronized void track() {
        if (unshared == null) {
            unshared = new ArrayList<>();
            unsharedAliases = new HashMap<>();
        }
    }

    /** The cells changed since the last take, with their sums as they are now; they count as shared from here on. */
    synchronized List<Shared> takeUnshared() {
        List<Shared> out = new ArrayList<>(unshared.size());
        for (Shared s : unshared) {
            if (s.cell().unshared) { // else taken since by takeHour
                s.cell().unshared = false;
                out.add(new Shared(s.hour(), s.dim(), s.value(), s.cell(), s.cell().encode()));
            }
        }
        unshared = new ArrayList<>();
        return out;
    }

    /** Key aliases first seen or changed since the last take. */
    synchronized Map<String, String> takeUnsharedAliases() {
        Map<String, String> out = unsharedAliases;
        unsharedAliases = new HashMap<>();
        return out;
    }

    /** Notes {@code cells} and {@code aliases} as changed again: sending them failed. */
    synchronized void untake(List<Shared> cells, Map<String, String> aliases) {
        for (Shared s : cells) {
            if (!s.cell().unshared) {
                s.cell().unshared = true;
                unshared.add(s);
            }
        }
        aliases.forEach(unsharedAliases::putIfAbsent);
    }

    /** Cells waiting to be shared (a gauge). */
    synchronized int unsharedCells() {
        return unshared == null ? 0 : unshared.size();
    }

    /** The hours held, oldest first. */
    synchronized List<Long> hourList() {
        return new ArrayList<>(hours.keySet());
    }

    /** Every cell of {@code hour} (for sending all sums again); they count as shared from here on. */
    synchronized List<Shared> takeHour(long hour) {
        List<Shared> out = new ArrayList<>();
        Map<String, Map<String, Cell>> dims = hours.get(hour);
        if (dims != null) {
            dims.forEach((dim, values) -> values.forEach((value, c) -> {
                c.unshared = false;
                out.add(new Shared(hour, dim, value, c, c.encode()));
            }));
        }
        return out;
    }

    synchronized Map<String, String> keyAliases() {
        return new HashMap<>(keyAliases);
    }

    /** Adds another replica's sums of one cell (no cap: each replica capped its own). */
    synchronized void put(long hour, String dim, String value, Cell sums) {
        lastHourMap = null;
        hours.computeIfAbsent(hour, x -> new HashMap<>()).computeIfAbsent(dim, d -> new HashMap<>())
                .merge(value, sums, (a, b) -> {
                    a.add(b);
                    return a;
                });
    }

    /** Where in the log a snapshot's sums go up to: the file name and the byte offset after its last line counted. */
    record Position(String file, long offset) {
    }

    /** Writes the sums and the log position they cover to {@code file}, replacing it atomically. */
    synchronized void save(Path file, Position covered) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16))) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            out.writeUTF(covered == null ? "" : covered.file());
            out.writeLong(covered == null ? 0 : covered.offset());
            out.writeInt(keyAliases.size());
            for (Map.Entry<String, String> a : keyAliases.entrySet()) {
                out.writeUTF(a.getKey());
                out.writeUTF(a.getValue());
            }
            out.writeInt(hours.size());
            for (Map.Entry<Long, Map<String, Map<String, Cell>>> h : hours.entrySet()) {
                out.writeLong(h.getKey());
                out.writeInt(h.getValue().size());
                for (Map.Entry<String, Map<String, Cell>> d : h.getValue().entrySet()) {
                    out.writeUTF(d.getKey());
                    out.writeInt(d.getValue().size());
                    for (Map.Entry<String, Cell> v : d.getValue().entrySet()) {
                        out.writeUTF(v.getKey());
                        v.getValue().writeTo(out);
                    }
                }
            }
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Loads a snapshot into these (empty) rollups; returns the log position it covers, or null when there is none. */
    synchronized Position load(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
            if (in.readInt() != MAGIC || in.readInt() != VERSION) {
                throw new IOException(file + " is not a rollups snapshot of this version");
            }
            lastHourMap = null;
            String logFile = in.readUTF();
            long offset = in.readLong();
            for (int i = in.readInt(); i > 0; i--) {
                keyAliases.put(in.readUTF(), in.readUTF());
            }
            for (int h = in.readInt(); h > 0; h--) {
                long hour = in.readLong();
                Map<String, Map<String, Cell>> dims = new HashMap<>();
                for (int d = in.readInt(); d > 0; d--) {
                    String dim = in.readUTF();
                    Map<String, Cell> values = new HashMap<>();
                    for (int v = in.readInt(); v > 0; v--) {
                        values.put(in.readUTF(), Cell.readFrom(in));
                    }
                    dims.put(dim, values);
                }
                hours.put(hour, dims);
            }
            return logFile.isEmpty() ? null : new Position(logFile, offset);
        }
    }
}
