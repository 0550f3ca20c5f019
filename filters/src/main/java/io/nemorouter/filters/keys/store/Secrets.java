package io.nemorouter.filters.keys.store;

import io.netty.util.concurrent.FastThreadLocal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/** Key secrets: made from {@link SecureRandom}, kept only as SHA-256. */
public final class Secrets {
    public static final String PREFIX = "sk-nemo-";
    private static final char[] BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
    private static final char[] HEX = "0123456789abcdef".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final FastThreadLocal<MessageDigest> SHA256 = new FastThreadLocal<>() {
        @Override
        protected MessageDigest initialValue() {
            try {
                return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    };

    private Secrets() {
    }

    /** A new key: {@code sk-nemo-} and 40 base62 characters (238 bits). */
    public static String newKey() {
        return PREFIX + random(40);
    }

    /** {@code n} random base62 characters (ids too). */
    public static String random(int n) {
        char[] c = new char[n];
        for (int i = 0; i < n; i++) {
            c[i] = BASE62[RANDOM.nextInt(62)];
        }
        return new String(c);
    }

    /** SHA-256 of the secret's UTF-8 bytes (an ASCII secret needs no copy), as the digest. */
    public static byte[] digest(CharSequence secret) {
        MessageDigest md = SHA256.get();
        for (int i = 0; i < secret.length(); i++) {
            char ch = secret.charAt(i);
            if (ch >= 0x80) {
                md.reset(); // drop the ASCII fed so far: hash the whole secret as UTF-8
                return md.digest(secret.toString().getBytes(StandardCharsets.UTF_8));
            }
            md.update((byte) ch);
        }
        return md.digest();
    }

    /** SHA-256 of the secret, lower-case hex: a key's id in the store. */
    public static String hash(CharSequence secret) {
        return hex(digest(secret));
    }

    /** A digest as lower-case hex. */
    public static String hex(byte[] d) {
        char[] out = new char[64];
        for (int i = 0; i < 32; i++) {
            out[2 * i] = HEX[(d[i] >> 4) & 0xf];
            out[2 * i + 1] = HEX[d[i] & 0xf];
        }
        return new String(out);
    }

    /** What may be shown of a secret: its first 12 characters and an ellipsis. */
    public static String prefixOf(String secret) {
        return secret.substring(0, Math.min(12, secret.length())) + "…";
    }

    /**
     * What an error may echo of a credential a client sent: {@code sk-nemo-} and 4 characters when it
     * looks like a virtual key, else nothing (a mistyped master key or a provider key must not come back).
     */
    public static String echoOf(CharSequence sent) {
        String s = sent.toString();
        return s.startsWith(PREFIX) && s.length() > PREFIX.length() + 4 ? prefixOf(s) : "(not a virtual key)";
    }
}
