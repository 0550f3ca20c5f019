package io.nemorouter.filters.keys.state;

import java.time.Instant;
import java.time.ZoneOffset;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How often a budget resets: a count and a unit, {@code s}, {@code m}, {@code h}, {@code d} or
 * {@code mo} (calendar months, in UTC: a period that starts on 31 January ends on the last day of
 * February, at the same time of day). {@code 30m}, {@code 1h}, {@code 1d}, {@code 7d}, {@code 30d},
 * {@code 1mo} as LiteLLM writes them.
 */
public record BudgetDuration(long count, String unit) {
    private static final Pattern FORM = Pattern.compile("([1-9][0-9]{0,5})(s|m|h|d|mo)");

    /** The duration written as {@code text}, or null when it is not one. */
    public static BudgetDuration parse(String text) {
        Matcher m = FORM.matcher(text == null ? "" : text.trim());
        return m.matches() ? new BudgetDuration(Long.parseLong(m.group(1)), m.group(2)) : null;
    }

    /** When a period that starts at {@code startMillis} ends. */
    public long end(long startMillis) {
        return switch (unit) {
            case "s" -> startMillis + count * 1000L;
            case "m" -> startMillis + count * 60_000L;
            case "h" -> startMillis + count * 3_600_000L;
            case "d" -> startMillis + count * 86_400_000L;
            default -> Instant.ofEpochMilli(startMillis).atOffset(ZoneOffset.UTC).plusMonths(count).toInstant().toEpochMilli();
        };
    }

    @Override
    public String toString() {
        return count + unit;
    }
}
