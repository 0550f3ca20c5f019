package io.nemorouter.filters.keys.store;

import java.util.List;
import java.util.Map;

/** An organization: teams belong to one; it has its own budget and limits. */
public record OrgRecord(String id, String alias, List<String> models, Limits limits, Map<String, Object> metadata,
                        boolean blocked, long createdAt, long updatedAt) implements LimitedRecord {
}
