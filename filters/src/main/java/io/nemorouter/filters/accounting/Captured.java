package io.nemorouter.filters.accounting;

import io.nemorouter.core.exchange.AnswerListener;
import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.exchange.Key;
import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What the request log keeps of a request before it goes upstream: its {@code metadata} and
 * {@code tags} (the body is gone once the exchange finishes), and, when bodies are logged, the
 * prompt and the answer as it is relayed, each up to a cap.
 */
final class Captured implements AnswerListener {
    static final Key<Captured> KEY = Key.of("log.captured");

    final String metadataJson;
    final List<String> tags;
    final String prompt;
    private final int cap;
    private StringBuilder answer;
    private boolean truncated;

    Captured(String metadataJson, List<String> tags, String prompt, int cap) {
        this.metadataJson = metadataJson;
        this.tags = tags;
        this.prompt = prompt;
        this.cap = cap;
    }

    @Override
    public void onBody(Exchange exchange, ByteBuf piece) {
        append(piece);
    }

    @Override
    public void onEvent(Exchange exchange, ByteBuf event) {
        append(event);
    }

    private void append(ByteBuf piece) {
        if (answer == null) {
            answer = new StringBuilder(Math.min(cap, 1024));
        }
        int room = cap - answer.length();
        if (room <= 0) {
            truncated = true;
            return;
        }
        int n = Math.min(room, piece.readableBytes());
        answer.append(piece.toString(piece.readerIndex(), n, StandardCharsets.UTF_8));
        truncated |= n < piece.readableBytes();
    }

    /** The answer as relayed (capped, marked when cut), or null when bodies are not logged. */
    String completion() {
        if (answer == null) {
            return null;
        }
        return truncated ? answer + "…[truncated]" : answer.toString();
    }

    /** Cuts a body to the cap. */
    static String capped(ByteBuf body, int cap) {
        int n = Math.min(cap, body.readableBytes());
        String s = body.toString(body.readerIndex(), n, StandardCharsets.UTF_8);
        return n < body.readableBytes() ? s + "…[truncated]" : s;
    }
}
