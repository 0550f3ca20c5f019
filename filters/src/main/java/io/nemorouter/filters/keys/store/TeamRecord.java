package io.nemorouter.filters.keys.store;

import java.util.List;
import java.util.Map;

/** A team: keys belong to one; it has its own budget and limits, and may belong to an organization. */
public record TeamRecord(String id, String alias, String orgId, List<String> models, Limits limits,
                         Map<String, Object> metadata, boolean blocked, long createdAt, long updatedAt) implements LimitedRecord {
}
