package io.nemorouter.providers.gemini;

import io.nemorouter.providers.translate.Credentials;
import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ProviderContext;
import io.nemorouter.core.provider.ProviderFactory;
import io.nemorouter.core.upstream.Origin;
import io.nemorouter.core.upstream.UpstreamRequest;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code provider = vertex}: Gemini models on Vertex AI, signed with a service account's OAuth
 * tokens. {@code project} (required), {@code location} (default {@code us-central1}),
 * {@code credentials} (the path of the service account's JSON key file: tokens are minted from it
 * and refreshed before they expire, {@link ServiceAccountTokens}) or {@code access_token} (a token
 * used as it is, for tests and short jobs), {@code api_base} (default
 * {@code https://{location}-aiplatform.googleapis.com}, {@code https://aiplatform.googleapis.com}
 * for {@code global}), {@code drop_params} (as for {@code gemini}).
 */
public final class VertexProviderFactory implements ProviderFactory {
    private final Clock clock;
    /** One token holder per key file: the deployments of one service account share its tokens. */
    private final Map<Path, ServiceAccountTokens> accounts = new ConcurrentHashMap<>();

    public VertexProviderFactory() {
        this(Clock.systemUTC());
    }

    /** With the clock tokens are timed by (a test's, to show a refresh without waiting an hour). */
    public VertexProviderFactory(Clock clock) {
        this.clock = clock;
    }

    @Override
    public String name() {
        return "vertex";
    }

    @Override
    public Set<String> catalogKeys() {
        return Set.of("api_base", "project", "location", "credentials", "access_token", "drop_params");
    }

    @Override
    public Provider create(Deployment d, ProviderContext context) {
        var s = d.settings();
        String where = "model \"" + d.name() + "\"";
        if (!s.hasPath("project") || s.getString("project").isBlank()) {
            throw ConfigError.at(s.origin(), where, "provider = vertex needs project (the Google Cloud project id)");
        }
        String project = s.getString("project");
        String location = s.hasPath("location") ? s.getString("location") : "us-central1";
        boolean drop = !s.hasPath("drop_params") || s.getBoolean("drop_params");
        boolean hasFile = s.hasPath("credentials") && !s.getString("credentials").isBlank();
        boolean hasToken = s.hasPath("access_token") && !s.getString("access_token").isBlank();
        if (hasFile == hasToken) {
            throw ConfigError.at(s.origin(), where, "provider = vertex needs one of credentials (a service-account key file) or access_token");
        }
        Credentials auth;
        if (hasToken) {
            try {
                auth = Credentials.constant(UpstreamRequest.headerLine("authorization", "Bearer " + s.getString("access_token")));
            } catch (IllegalArgumentException e) {
                throw ConfigError.at(s.getValue("access_token").origin(), where, "its access_token contains a control or non-Latin-1 character");
            }
        } else {
            try {
                Path file = Path.of(s.getString("credentials")).toAbsolutePath().normalize();
                auth = accounts.computeIfAbsent(file, f -> new ServiceAccountTokens(ServiceAccountKey.read(f), clock));
            } catch (IllegalArgumentException e) {
                throw ConfigError.at(s.getValue("credentials").origin(), where + ".credentials", e.getMessage());
            }
        }
        String base = d.apiBase() != null ? d.apiBase()
                : location.equals("global") ? "https://aiplatform.googleapis.com" : "https://" + location + "-aiplatform.googleapis.com";
        String model = d.model().startsWith("projects/") ? d.model()
                : "projects/" + project + "/locations/" + location + "/publishers/google/models/" + d.model();
        return new GeminiProvider(d, "Vertex AI", true, Origin.parse(base), "/v1/", model, context.upstream(), drop, auth);
    }
}
