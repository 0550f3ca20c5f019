package io.nemorouter.filters.cache;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One stored answer: a complete, successful non-streaming body, or a stream's events (without the
 * usage event and the {@code "usage":null} members, which a replay adds back when its client asks),
 * with what the call cost and used, and when it was stored and expires. {@code scope} and
 * {@code model} are kept for flushing by tenant or model and to check a hit is the tenant's own.
 */
record CacheEntry(String scope, String model, String deployment, long createdMillis, long expiresMillis, boolean streamed,
                  String contentType, long promptTokens, long completionTokens, long cachedTokens, double cost, byte[] body) {
    private static final int VERSION = 1;

    byte[] encode() {
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
