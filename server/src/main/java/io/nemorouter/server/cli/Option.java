package io.nemorouter.server.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.math.BigDecimal;

/**
 * One option of a command and the admin API member it sets: a flag ({@code --block}) or an option
 * with a value ({@code --budget 80}), read into the member's JSON type. Numbers are checked here, so
 * a typo gets a usage line before any request is sent; every other rule is the API's to apply.
 */
record Option(String name, String valueName, String member, Value value, String help) {
    /** The value that removes a limit: {@code --rpm none} sends {@code "rpm_limit": null}. */
    private static final String NONE = "none";

    /** Turns what was typed into the member's value. */
    interface Value {
        /** @throws IllegalArgumentException saying what the value must be */
        JsonNode read(String typed);
    }

    boolean isFlag() {
        return valueName == null;
    }

    /** {@code [--name VALUE]}, as a usage line shows it. */
    String synopsis() {
        return "[" + name + (isFlag() ? "" : " " + valueName) + "]";
    }

    static Option text(String name, String valueName, String member, String help) {
        return new Option(name, valueName, member, TextNode::valueOf, help);
    }

    /** Text, or {@code none} to clear it: {@code --team none} takes a key out of its team. */
    static Option clearableText(String name, String valueName, String member, String help) {
        return new Option(name, valueName, member, clearable(TextNode::valueOf), help);
    }

    /** A comma-separated list: {@code --models a,b}; {@code all} is the empty list, which the API reads as no restriction. */
    static Option list(String name, String member, String help) {
        return new Option(name, "a,b", member, typed -> {
            ArrayNode items = JsonNodeFactory.instance.arrayNode();
            if (typed.trim().equals("all")) {
                return items;
            }
            for (String item : typed.split(",")) {
                if (!item.isBlank()) {
                    items.add(item.trim());
                }
            }
            return items;
        }, help);
    }

    /** A duration such as {@code 30d} or {@code 1mo}, or {@code none}; the API judges its form. */
    static Option duration(String name, String member, String help) {
        return new Option(name, "30d", member, clearable(TextNode::valueOf), help);
    }

    /** US dollars, 0 or more, or {@code none}. */
    static Option usd(String name, String member, String help) {
        return new Option(name, "USD", member, clearable(typed -> {
            BigDecimal usd;
            try {
                usd = new BigDecimal(typed);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("must be an amount of US dollars such as 80 or 2.50");
            }
            if (usd.signum() < 0) {
                throw new IllegalArgumentException("must be an amount of US dollars, 0 or more");
            }
            return DecimalNode.valueOf(usd);
        }), help);
    }

    /** A whole number, 1 or more, or {@code none}. */
    static Option count(String name, String member, String help) {
        return new Option(name, "N", member, clearable(typed -> {
            try {
                long n = Long.parseLong(typed);
                if (n >= 1) {
                    return LongNode.valueOf(n);
                }
            } catch (NumberFormatException e) {
                // said below
            }
            throw new IllegalArgumentException("must be a whole number, 1 or more");
        }), help);
    }

    /** A JSON object, sent as it is. */
    static Option json(String name, String member, String help) {
        return new Option(name, "JSON", member, typed -> {
            try {
                JsonNode node = AdminClient.JSON.readTree(typed);
                if (!node.isMissingNode()) {
                    return node;
                }
            } catch (JsonProcessingException e) {
                // said below
            }
            throw new IllegalArgumentException("must be JSON such as '{\"owner\":\"data-team\"}'");
        }, help);
    }

    /** A flag that sets {@code member} to {@code value}. */
    static Option flag(String name, String member, boolean value, String help) {
        return new Option(name, null, member, typed -> BooleanNode.valueOf(value), help);
    }

    private static Value clearable(Value value) {
        return typed -> NONE.equals(typed) ? NullNode.getInstance() : value.read(typed);
    }
}
