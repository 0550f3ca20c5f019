package io.nemorouter.core.upstream;

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
final class WholeAnswerDecoder extends ChannelInboundHandlerAdapter {
    private final UpstreamRelay relay;
    private final long maxBody;
    private final WholeAnswer answer = new WholeAnswer();
    /** The relay's {@link UpstreamRelay#answerNumber} whose bytes went to the general decoder. */
    private int generalFor = -1;

    WholeAnswerDecoder(UpstreamRelay relay, long maxBody) {
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
