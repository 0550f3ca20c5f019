package io.nemorouter.examples.stamp;

import io.nemorouter.core.exchange.Exchange;
import io.nemorouter.core.extension.RequestFilter;
import io.nemorouter.core.extension.Verdict;

import java.util.List;

/**
 * Removes the configured top-level members from what goes upstream: members only the client's
 * own tooling reads. The gateway splices them out of the original bytes; the rest is not
 * re-serialised.
 */
final class StripMembers implements RequestFilter {
    private final List<String> members;

    StripMembers(List<String> members) {
        this.members = List.copyOf(members);
    }

    @Override
    public Verdict filter(Exchange exchange) {
        if (exchange.endpoint().proxied) {
            for (String m : members) {
                exchange.body().remove(m);
            }
        }
        return Verdict.CONTINUE;
    }
}
