package io.nemorouter.server.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/** A command's operands (keys, ids) and the admin API members its options set, as typed. */
record Invocation(List<String> operands, ObjectNode fields) {
    String operand(int i) {
        return operands.get(i);
    }
}
