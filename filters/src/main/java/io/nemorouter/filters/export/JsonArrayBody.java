package io.nemorouter.filters.export;

import java.io.ByteArrayOutputStream;
import java.util.List;

/** A batch as one JSON document: records (already compact JSON) joined without parsing them again. */
final class JsonArrayBody {
    private JsonArrayBody() {
    }

    /** {@code prefix + [r1,r2,...] + suffix}, e.g. {@code {"records":} ... {@code }}. */
    static byte[] of(String prefix, List<byte[]> items, String suffix) {
        int size = prefix.length() + suffix.length() + 2 + items.size();
        for (byte[] b : items) {
            size += b.length;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(size);
        out.writeBytes(prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        out.write('[');
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) {
                out.write(',');
            }
            out.writeBytes(items.get(i));
        }
        out.write(']');
        out.writeBytes(suffix.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return out.toByteArray();
    }
}
