package io.nemorouter.core.internal.http1;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Sits in front of Netty's response decoder on an upstream connection and takes the fast way for
 * a non-streaming answer that arrives whole in one read: it hands the relay a parsed
 * {@link WholeAnswer} instead of a decoded head and contents. Every other read (streams, answers
 * split across reads, anything unusual) goes to the decoder as it came; once a read of an answer
 * has gone there, the rest of that answer follows it, so the decoder never sees half a message.
 */
public final class WholeAnswerDecoder extends ChannelInboundHandlerAdapter {
    /** Who gets the answers: the upstream connection's relay. */
    public interface Sink {
        /** Counts the answers awaited on this connection, so that one answer's reads are told from the next's. */
        int answerNumber();

        /** Whether an answer that arrives whole may take the fast way now (one is awaited, not streamed, passed on as is). */
        boolean awaitingWholeAnswer();

        /** The answer, consumed (and released) before this returns. */
        void onWholeAnswer(WholeAnswer answer);
    }

    private final Sink relay;
    private final long maxBody;
    private final WholeAnswer answer = new WholeAnswer();
    /** The sink's {@link Sink#answerNumber} whose bytes went to the general decoder. */
    private int generalFor = -1;

    public WholeAnswerDecoder(Sink relay, long maxBody) {
        this.relay = relay;
        this.maxBody = maxBody;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf in) {
            int n = relay.answerNumber();
            if (n != generalFor && relay.awaitingWholeAnswer() && answer.parse(in, maxBody)) {
                relay.onWholeAnswer(answer); // consumed (and released) before it returns
                return;
            }
            generalFor = n;
        }
        ctx.fireChannelRead(msg);
    }
}
