package io.nemorouter.filters.export;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/** Records as gzipped JSON Lines: each record's compact JSON on a line of its own, every line ended by a newline. */
final class GzipJsonLines {
    private GzipJsonLines() {
    }

    /** The same records always give the same bytes (gzip's header carries no time here), so a retry's object is the same. */
    static byte[] of(List<ExportRecord> records) {
        int size = 0;
        for (ExportRecord r : records) {
            size += r.bytes().length + 1;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(256, size / 6)); // JSON logs gzip to about a sixth
        try (GZIPOutputStream gz = new GZIPOutputStream(out, 64 * 1024)) {
            for (ExportRecord r : records) {
                gz.write(r.bytes());
                gz.write('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException("gzip into memory cannot fail", e);
        }
        return out.toByteArray();
    }
}
