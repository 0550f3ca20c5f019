package io.nemorouter.server.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.math.BigDecimal;
import java.math.MathContext;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** How the admin API's values are written for people; "-" stands for a value that is not set. */
final class Formats {
    static final String UNSET = "-";
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'").withZone(ZoneOffset.UTC);

    private Formats() {
    }

    static String text(JsonNode v) {
        return v == null || v.isNull() || v.asText().isEmpty() ? UNSET : v.asText();
    }

    /** US dollars with cents; an amount under a cent keeps two significant digits ($0.0042), not $0.00. */
    static String money(JsonNode usd) {
        if (usd == null || usd.isNull()) {
            return UNSET;
        }
        BigDecimal v = usd.decimalValue();
        if (v.signum() != 0 && v.abs().compareTo(new BigDecimal("0.01")) < 0) {
            return "$" + v.round(new MathContext(2)).stripTrailingZeros().toPlainString();
        }
        return String.format(Locale.ROOT, "$%.2f", v);
    }

    /** "$31.20 / $80.00", or "$31.20 / -" without a budget. */
    static String spendOfBudget(JsonNode view) {
        return money(view.get("spend")) + " / " + money(view.get("max_budget"));
    }

    /** An ISO-8601 instant as "2026-04-01 00:00 UTC". */
    static String time(JsonNode iso) {
        return iso == null || iso.isNull() ? UNSET : TIME.format(Instant.parse(iso.asText()));
    }

    /** The items of a list, comma-separated; {@code whenEmpty} for none. */
    static String list(JsonNode items, String whenEmpty) {
        List<String> out = new ArrayList<>();
        if (items != null) {
            items.forEach(i -> out.add(i.asText()));
        }
        return out.isEmpty() ? whenEmpty : String.join(", ", out);
    }

    /** A JSON object on one line; "-" when it is empty. */
    static String object(JsonNode v) {
        return v == null || v.isNull() || v.isEmpty() ? UNSET : v.toString();
    }

    /** blocked, expired (a key past its expiry) or active. */
    static String state(JsonNode view) {
        if (view.path("blocked").asBoolean()) {
            return "blocked";
        }
        JsonNode expires = view.get("expires");
        return expires != null && !expires.isNull() && !Instant.parse(expires.asText()).isAfter(Instant.now()) ? "expired" : "active";
    }

    /** The first 8 characters of a key's token: enough to tell keys apart, and to name one (see {@link KeyCommands}). */
    static String shortToken(JsonNode token) {
        String t = token.asText();
        return t.substring(0, Math.min(8, t.length()));
    }
}
