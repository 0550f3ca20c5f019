package io.nemorouter.filters.accounting;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The request log's files: {@code requests-YYYY-MM-DD-NNN.jsonl} (UTC day, then a sequence within
 * it), so that name order is time order.
 */
final class LogFiles {
    private static final Pattern NAME = Pattern.compile("requests-(\\d{4}-\\d{2}-\\d{2})-(\\d{3,})\\.jsonl");

    private LogFiles() {
    }

    static String name(LocalDate day, int seq) {
        return String.format("requests-%s-%03d.jsonl", day, seq);
    }

    static LocalDate day(long epochMillis) {
        return LocalDate.ofEpochDay(Math.floorDiv(epochMillis, 86_400_000L));
    }

    /** The day a file holds, or null for a name that is not a log file's. */
    static LocalDate dayOf(String fileName) {
        Matcher m = NAME.matcher(fileName);
        return m.matches() ? LocalDate.parse(m.group(1)) : null;
    }

    static int seqOf(String fileName) {
        Matcher m = NAME.matcher(fileName);
        return m.matches() ? Integer.parseInt(m.group(2)) : -1;
    }

    /** The log files in {@code dir}, oldest first. */
    static List<Path> list(Path dir) throws IOException {
        List<Path> files = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return files;
        }
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> dayOf(p.getFileName().toString()) != null).forEach(files::add);
        }
        files.sort((a, b) -> {
            String x = a.getFileName().toString();
            String y = b.getFileName().toString();
            int byDay = dayOf(x).compareTo(dayOf(y));
            return byDay != 0 ? byDay : Integer.compare(seqOf(x), seqOf(y));
        });
        return files;
    }

    static LocalDate today(long nowMillis) {
        return LocalDate.ofInstant(java.time.Instant.ofEpochMilli(nowMillis), ZoneOffset.UTC);
    }
}
