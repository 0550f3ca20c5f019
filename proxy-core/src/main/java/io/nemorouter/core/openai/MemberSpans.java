package io.nemorouter.core.openai;

import io.nemorouter.core.internal.json.JsonCursor;
import io.nemorouter.core.internal.json.Json;
import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where each top-level member of a body is, for edits of members the first pass does not keep
 * spans of ({@code metadata}, say). A second walk over the body, taken only by requests a filter
 * edited that way; the body was validated by the first, so this one cannot fail.
 */
final class MemberSpans {
    /** Per member: its name, where its name starts, where its value starts and ends, and the comma before it (-1 for the first). */
    private record Member(String name, int nameStart, int valueStart, int valueEnd, int commaBefore) {
    }

    private final List<Member> members = new ArrayList<>();
    private int objectEnd;

    private MemberSpans() {
    }

    static MemberSpans scan(ByteBuf body) {
        int n = body.readableBytes();
        byte[] bytes = new byte[n];
        body.getBytes(body.readerIndex(), bytes);
        JsonCursor json = new JsonCursor(bytes, 0, n);
        if (n >= 3 && (bytes[0] & 0xff) == 0xef) {
            json.pos = 3; // the byte order mark the first pass allowed
        }
        MemberSpans spans = new MemberSpans();
        json.skipSpace();
        if (json.enter('}')) {
            int commaBefore = -1;
            do {
                json.toName();
                int nameStart = json.pos;
                String name = json.readString();
                json.toValue();
                int valueStart = json.pos;
                json.skipValue(1);
                spans.members.add(new Member(name, nameStart, valueStart, json.pos, commaBefore));
                json.skipSpace();
                commaBefore = json.pos;
            } while (json.next('}'));
        }
        spans.objectEnd = json.pos - 1;
        return spans;
    }

    /**
     * Splices for {@code edits} (member name to its new JSON value, or null to remove it), with the
     * gateway-only members removed too. A member set that the body lacks goes before the closing brace.
     */
    BodyEdits splices(Map<String, byte[]> edits) {
        BodyEdits out = new BodyEdits();
        List<int[]> removed = new ArrayList<>(2);
        RemovalRuns runs = new RemovalRuns(removed);
        int lastValueEnd = -1;
        for (Member m : members) {
            boolean gone = m.name.equals("nemo_cache") || m.name.equals("tags")
                    || (edits.containsKey(m.name) && edits.get(m.name) == null);
            runs.member(m.nameStart, m.commaBefore, gone);
            byte[] value = edits.get(m.name);
            if (!gone && value != null) {
                out.replace(m.valueStart, m.valueEnd, value);
            }
            lastValueEnd = m.valueEnd;
        }
        runs.end(lastValueEnd);
        for (int[] span : removed) {
            out.remove(span[0], span[1]);
        }
        edits.forEach((name, value) -> {
            if (value != null && members.stream().noneMatch(m -> m.name.equals(name))) {
                out.insert(objectEnd, member(name, value, true));
            }
        });
        return out;
    }

    /** {@code ,"name":value} (or without the comma) as bytes. */
    static byte[] member(String name, byte[] value, boolean comma) {
        byte[] quoted = Json.quote(name).getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[(comma ? 1 : 0) + quoted.length + 1 + value.length];
        int at = 0;
        if (comma) {
            out[at++] = ',';
        }
        System.arraycopy(quoted, 0, out, at, quoted.length);
        at += quoted.length;
        out[at++] = ':';
        System.arraycopy(value, 0, out, at, value.length);
        return out;
    }
}
