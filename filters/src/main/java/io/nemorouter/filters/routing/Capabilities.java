package io.nemorouter.filters.routing;

import com.fasterxml.jackson.databind.JsonNode;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.openai.InvalidBodyException;
import io.nemorouter.filters.keys.Principal;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The capability tags a request needs, as a mask over the router's vocabulary: the tags the
 * catalog's entries carry and the well-known capabilities. A tag outside it ({@code "rag"},
 * {@code "nightly"}) is a label for spend reports, not a requirement. The tags come from the body's
 * {@code tags}, else from the key's; a message with an {@code image_url} part needs {@code vision}.
 */
final class Capabilities {
    /** Capabilities a request may ask for even when no catalog entry has them (then it gets a 400, not a wrong model). */
    static final Set<String> WELL_KNOWN = Set.of("vision", "long-context", "code", "embedding", "reasoning", "audio",
            "tools", "json");
    /** Read only, shared by every event loop. */
    private static final ByteBuf IMAGE_URL = Unpooled.wrappedBuffer("\"image_url\"".getBytes(StandardCharsets.US_ASCII)).asReadOnly();

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Capabilities.class);
    private final Map<String, Integer> bits = new LinkedHashMap<>();

    /** The vocabulary: {@code catalogTags} and {@link #WELL_KNOWN}, at most 64. */
    Capabilities(Iterable<String> catalogTags) {
        for (String t : new java.util.TreeSet<>(WELL_KNOWN)) {
            add(t); // first: a catalog with many tags of its own never crowds these out
        }
        for (String t : catalogTags) {
            add(t);
        }
    }

    private void add(String tag) {
        if (!bits.containsKey(tag)) {
            if (bits.size() == 64) {
                LOG.warn("router: more than 64 distinct tags in the catalog; \"{}\" is not a capability the router checks", tag);
                return;
            }
            bits.put(tag, bits.size());
        }
    }

    /** The mask of {@code tags} (those outside the vocabulary left out). */
    long mask(List<String> tags) {
        long m = 0;
        if (tags != null) {
            for (String t : tags) {
                Integer b = bits.get(t);
                if (b != null) {
                    m |= 1L << b;
                }
            }
        }
        return m;
    }

    long bit(String tag) {
        Integer b = bits.get(tag);
        return b == null ? 0 : 1L << b;
    }

    /** The names of the tags in {@code mask}. */
    List<String> names(long mask) {
        List<String> out = new ArrayList<>();
        bits.forEach((name, b) -> {
            if ((mask & (1L << b)) != 0) {
                out.add(name);
            }
        });
        return out;
    }

    /** What {@code ex} needs: its body's capability tags, else its key's; and vision for an image. */
    long required(Exchange ex) {
        long m = mask(ex.body().tags());
        if (m == 0) {
            Principal p = ex.get(Principal.KEY);
            if (p != null && p.keyRecord() != null) {
                m = mask(p.keyRecord().tags());
            }
        }
        if (hasImage(ex)) {
            m |= bit("vision");
        }
        return m;
    }

    /** Whether a message has an {@code image_url} part (the bytes are searched first: most requests have none). */
    private static boolean hasImage(Exchange ex) {
        ByteBuf content = ex.content();
        if (content == null || ByteBufUtil.indexOf(IMAGE_URL, content) < 0) {
            return false;
        }
        JsonNode messages;
        try {
            messages = ex.body().member("messages");
        } catch (InvalidBodyException e) {
            return false;
        }
        if (messages == null || !messages.isArray()) {
            return false;
        }
        for (JsonNode m : messages) {
            JsonNode parts = m.get("content");
            if (parts != null && parts.isArray()) {
                for (JsonNode part : parts) {
                    if ("image_url".equals(part.path("type").asText()) || part.has("image_url")) {
                        return true;
                    }
                }
            }
        }
        return false;
    }
}
