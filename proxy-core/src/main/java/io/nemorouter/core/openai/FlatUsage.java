package io.nemorouter.core.openai;

/**
 * Reads the token counts out of a usage object's bytes without a JSON library: the object is
 * small and flat (of its nested {@code *_details} objects only the prompt's cached tokens are read), and this runs once per
 * answer on the event loop. Anything it does not expect (escapes in keys, odd numbers, a
 * truncated object) returns {@link #UNREADABLE}, and the caller falls back to Jackson.
 */
final class FlatUsage {
    static final Usage UNREADABLE = new Usage(-1, -1, -1);

    private FlatUsage() {
    }

    /** {@code b} starts at the usage object's '{'. Returns null when it has no prompt token count. */
    static Usage parse(byte[] b) {
        long prompt = -1;
        long completion = 0;
        long total = -1;
        long cached = 0;
        long cacheWrite = 0;
        int i = 1;
        while (true) {
            i = skipSpace(b, i);
            if (i >= b.length) {
                return UNREADABLE;
            }
            if (b[i] == '}') {
                break;
            }
            if (b[i] == ',') {
                i++;
                continue;
            }
            if (b[i] != '"') {
                return UNREADABLE;
            }
            int keyStart = ++i;
            while (i < b.length && b[i] != '"') {
                if (b[i] == '\\') {
                    return UNREADABLE;
                }
                i++;
            }
            int keyEnd = i++;
            i = skipSpace(b, i);
            if (i >= b.length || b[i] != ':') {
                return UNREADABLE;
            }
            i = skipSpace(b, i + 1);
            if (i >= b.length) {
                return UNREADABLE;
            }
            if (b[i] >= '0' && b[i] <= '9') {
                long v = 0;
                int digits = 0;
                while (i < b.length && b[i] >= '0' && b[i] <= '9') {
                    v = v * 10 + (b[i++] - '0');
                    if (++digits > 15) {
                        return UNREADABLE;
                    }
                }
                if (i < b.length && (b[i] == '.' || b[i] == 'e' || b[i] == 'E')) {
                    return UNREADABLE;
                }
                switch (key(b, keyStart, keyEnd)) {
                    case PROMPT -> prompt = v;
                    case COMPLETION -> completion = v;
                    case TOTAL -> total = v;
                    case CACHE_WRITE -> cacheWrite = v;
                    default -> { }
                }
            } else {
                int start = i;
                i = skipValue(b, i);
                if (i < 0) {
                    return UNREADABLE;
                }
                if (b[start] == '{' && key(b, keyStart, keyEnd) == PROMPT_DETAILS) {
                    cached = cachedTokens(b, start, i);
                    if (cached < 0) {
                        return UNREADABLE;
                    }
                }
            }
        }
        if (prompt < 0) {
            return null;
        }
        return new Usage(prompt, completion, total >= 0 ? total : prompt + completion, cached, false, cacheWrite);
    }

    private static final int OTHER = 0;
    private static final int PROMPT = 1;
    private static final int COMPLETION = 2;
    private static final int TOTAL = 3;
    private static final int PROMPT_DETAILS = 4;
    private static final int CACHE_WRITE = 5;
    private static final byte[] CACHED = "\"cached_tokens\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** {@code cached_tokens} in the details object {@code b[from, to)}: 0 when absent, -1 when not a plain count. */
    private static long cachedTokens(byte[] b, int from, int to) {
        outer:
        for (int k = from; k + CACHED.length <= to; k++) {
            for (int j = 0; j < CACHED.length; j++) {
                if (b[k + j] != CACHED[j]) {
                    continue outer;
                }
            }
            int i = skipSpace(b, k + CACHED.length);
            if (i >= to || b[i] != ':') {
                return -1;
            }
            i = skipSpace(b, i + 1);
            long v = 0;
            int digits = 0;
            while (i < to && b[i] >= '0' && b[i] <= '9') {
                v = v * 10 + (b[i++] - '0');
                if (++digits > 15) {
                    return -1;
                }
            }
            return digits == 0 ? (is(b, i, Math.min(i + 4, to), "null") ? 0 : -1) : v;
        }
        return 0;
    }

    private static int key(byte[] b, int from, int to) {
        if (is(b, from, to, "prompt_tokens") || is(b, from, to, "input_tokens")) {
            return PROMPT;
        }
        if (is(b, from, to, "completion_tokens") || is(b, from, to, "output_tokens")) {
            return COMPLETION;
        }
        if (is(b, from, to, "prompt_tokens_details") || is(b, from, to, "input_tokens_details")) {
            return PROMPT_DETAILS;
        }
        if (is(b, from, to, "cache_creation_input_tokens")) {
            return CACHE_WRITE;
        }
        return is(b, from, to, "total_tokens") ? TOTAL : OTHER;
    }

    private static boolean is(byte[] b, int from, int to, String name) {
        if (to - from != name.length()) {
            return false;
        }
        for (int k = 0; k < name.length(); k++) {
            if (b[from + k] != name.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    private static int skipSpace(byte[] b, int i) {
        while (i < b.length && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) {
            i++;
        }
        return i;
    }

    /** Skips a string, object, array or literal starting at {@code i}; -1 when it runs off the end. */
    private static int skipValue(byte[] b, int i) {
        int depth = 0;
        boolean inString = false;
        for (; i < b.length; i++) {
            byte c = b[i];
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                    if (depth == 0) {
                        return i + 1;
                    }
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (depth == 0) {
                    return i; // the end of the usage object itself: a literal ended here
                }
                if (--depth == 0) {
                    return i + 1;
                }
            } else if (depth == 0 && c == ',') {
                return i;
            }
        }
        return -1;
    }
}
