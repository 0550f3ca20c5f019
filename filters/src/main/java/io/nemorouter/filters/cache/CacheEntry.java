package io.nemorouter.filters.cache;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * One stored answer: a complete, successful non-streaming body, or a stream's events (without the
 * usage event and the {@code "usage":null} members, which a replay adds back when its client asks),
 * with what the call cost and used, and when it was stored and expires. {@code scope} and
 * {@code model} are kept for flushing by tenant or model and to check a hit is the tenant's own.
 */
record CacheEntry(String scope, String model, String deployment, long createdMillis, long expiresMillis, boolean streamed,
                  String contentType, long promptTokens, long completionTokens, long cachedTokens, double cost, byte[] body) {
    private static final int VERSION = 1;

    /** The fixed part of an encoding: version, two times, the flag, three token counts, the cost and the body's length. */
    private static final int FIXED_BYTES = 1 + 8 + 8 + 1 + 8 + 8 + 8 + 8 + 4;

    /**
     * The entry as bytes ({@link DataOutputStream}'s format: big-endian, strings as its modified
     * UTF-8 with a two-byte length). Its four strings are ASCII nearly always (a scope, a model, a
     * deployment id, a content type): then the bytes are written straight into one array of the
     * right size; a stream, a writeUTF per string and a copy at the end took 40% of a store.
     */
    byte[] encode() {
        String deploymentText = deployment == null ? "" : deployment;
        String type = contentType == null ? "" : contentType;
        int scopeBytes = asciiLength(scope);
        int modelBytes = asciiLength(model);
        int deploymentBytes = asciiLength(deploymentText);
        int typeBytes = asciiLength(type);
        if (scopeBytes < 0 || modelBytes < 0 || deploymentBytes < 0 || typeBytes < 0) {
            return encodeWithStream();
        }
        int strings = scopeBytes + modelBytes + deploymentBytes + typeBytes;
        byte[] out = new byte[FIXED_BYTES + strings + body.length];
        ByteBuffer b = ByteBuffer.wrap(out); // big-endian, as DataOutputStream writes
        b.put((byte) VERSION);
        ascii(b, scope);
        ascii(b, model);
        ascii(b, deploymentText);
        b.putLong(createdMillis).putLong(expiresMillis).put((byte) (streamed ? 1 : 0));
        ascii(b, type);
        b.putLong(promptTokens).putLong(completionTokens).putLong(cachedTokens).putDouble(cost).putInt(body.length).put(body);
        return out;
    }

    /** The bytes {@code s} takes in {@link #encode()} (its two-byte length and its characters), or -1 when it is not plain ASCII. */
    private static int asciiLength(String s) {
        if (s.length() > 0xffff) {
            return -1;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == 0 || c >= 0x80) { // modified UTF-8 writes '\0' in two bytes
                return -1;
            }
        }
        return 2 + s.length();
    }

    private static void ascii(ByteBuffer b, String s) {
        b.putShort((short) s.length());
        for (int i = 0; i < s.length(); i++) {
            b.put((byte) s.charAt(i));
        }
    }

    /** {@link #encode()} for an entry with a string that is not plain ASCII. */
    byte[] encodeWithStream() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(body.length + 256);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            out.writeUTF(scope);
            out.writeUTF(model);
            out.writeUTF(deployment == null ? "" : deployment);
            out.writeLong(createdMillis);
            out.writeLong(expiresMillis);
            out.writeBoolean(streamed);
            out.writeUTF(contentType == null ? "" : contentType);
            out.writeLong(promptTokens);
            out.writeLong(completionTokens);
            out.writeLong(cachedTokens);
            out.writeDouble(cost);
            out.writeInt(body.length);
            out.write(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** The entry in {@code bytes}, or null when they are not one (another version, damage). */
    static CacheEntry decode(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            if (in.readByte() != VERSION) {
                return null;
            }
            String scope = in.readUTF();
            String model = in.readUTF();
            String deployment = in.readUTF();
            long created = in.readLong();
            long expires = in.readLong();
            boolean streamed = in.readBoolean();
            String type = in.readUTF();
            long prompt = in.readLong();
            long completion = in.readLong();
            long cached = in.readLong();
            double cost = in.readDouble();
            int n = in.readInt();
            if (n < 0 || n > bytes.length) {
                return null;
            }
            byte[] body = in.readNBytes(n);
            return new CacheEntry(scope, model, deployment.isEmpty() ? null : deployment, created, expires, streamed,
                    type.isEmpty() ? null : type, prompt, completion, cached, cost, body);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
