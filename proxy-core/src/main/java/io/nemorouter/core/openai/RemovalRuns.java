package io.nemorouter.core.openai;

import java.util.List;

/**
 * Turns the top-level members to remove from a body into byte spans that leave valid JSON. A run
 * of removed members is one span: from its first name to the next kept member's name (taking the
 * commas between), or, when the run ends the object, from the comma before it to its last value.
 * Fed the members in order; event-loop confined, one per scan.
 */
final class RemovalRuns {
    private final List<int[]> spans;
    private int runStart = -1;
    private int runCommaBefore = -1;

    RemovalRuns(List<int[]> spans) {
        this.spans = spans;
    }

    /** The next member starts (its name's quote) at {@code nameStart}; {@code commaBefore} is -1 for the first. */
    void member(int nameStart, int commaBefore, boolean removed) {
        if (removed && runStart < 0) {
            runStart = nameStart;
            runCommaBefore = commaBefore;
        } else if (!removed && runStart >= 0) {
            spans.add(new int[]{runStart, nameStart});
            runStart = -1;
        }
    }

    /** The object ends; its last member's value ended at {@code lastValueEnd}. */
    void end(int lastValueEnd) {
        if (runStart >= 0) {
            spans.add(new int[]{runCommaBefore >= 0 ? runCommaBefore : runStart, lastValueEnd});
            runStart = -1;
        }
    }
}
