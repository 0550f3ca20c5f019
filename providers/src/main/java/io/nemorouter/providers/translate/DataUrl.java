package io.nemorouter.providers.translate;

/**
 * A {@code data:} URL of base64 bytes, as OpenAI clients send inline images and files
 * ({@code data:image/png;base64,iVBOR...}); providers that take inline bytes want the media type and
 * the base64 text apart.
 */
public record DataUrl(String mediaType, String base64) {
    /** The parts of {@code url}, or null when it is not a base64 {@code data:} URL. */
    public static DataUrl parse(String url) {
        if (url == null || !url.regionMatches(true, 0, "data:", 0, 5)) {
            return null;
        }
        int comma = url.indexOf(',');
        if (comma < 0) {
            return null;
        }
        String meta = url.substring(5, comma);
        if (!meta.toLowerCase(java.util.Locale.ROOT).endsWith(";base64")) {
            return null;
        }
        String type = meta.substring(0, meta.length() - ";base64".length());
        return new DataUrl(type.isEmpty() ? "application/octet-stream" : type, url.substring(comma + 1));
    }
}
