package io.nemorouter.server.cli;

import java.util.ArrayList;
import java.util.List;

/** Rows of text in columns, each as wide as its widest cell, two spaces apart. */
final class Table {
    private final List<List<String>> rows = new ArrayList<>();

    Table row(String... cells) {
        return row(List.of(cells));
    }

    Table row(List<String> cells) {
        rows.add(List.copyOf(cells));
        return this;
    }

    /** The rows, a line each, ending in a line break. */
    @Override
    public String toString() {
        List<Integer> widths = new ArrayList<>();
        for (List<String> row : rows) {
            for (int i = 0; i < row.size(); i++) {
                if (i == widths.size()) {
                    widths.add(0);
                }
                widths.set(i, Math.max(widths.get(i), row.get(i).length()));
            }
        }
        StringBuilder b = new StringBuilder();
        for (List<String> row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.size(); i++) {
                line.append(row.get(i)).append(" ".repeat(widths.get(i) - row.get(i).length() + 2));
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
        return b.toString();
    }
}
