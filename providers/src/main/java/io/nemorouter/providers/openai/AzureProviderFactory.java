package io.nemorouter.providers.openai;

import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.Deployment;
import io.nemorouter.core.openai.Endpoint;
import io.nemorouter.core.provider.Provider;
import io.nemorouter.core.provider.ProviderContext;
import io.nemorouter.core.provider.ProviderFactory;
import io.nemorouter.core.upstream.Origin;
import io.netty.handler.codec.http.HttpHeaderNames;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;

/**
 * {@code provider = azure}: Azure OpenAI, the OpenAI API at Azure's URL shape. {@code api_base} is
 * the resource endpoint ({@code https://my-resource.openai.azure.com}); {@code azure_deployment} the
 * deployment's name there (default: the entry's {@code model}); {@code api_version} (default
 * {@code 2024-10-21}). Credentials: {@code api_key} (sent as {@code api-key}) or
 * {@code azure_ad_token} (a Microsoft Entra token, sent as {@code Authorization: Bearer}). Chat,
 * embeddings and text completions pass through untranslated, as from OpenAI; the Responses API
 * reaches it bridged to chat completions.
 */
public final class AzureProviderFactory implements ProviderFactory {
    static final String DEFAULT_API_VERSION = "2024-10-21";

    @Override
    public String name() {
        return "azure";
    }

    @Override
    public Set<String> catalogKeys() {
        return Set.of("api_base", "api_key", "azure_ad_token", "azure_deployment", "api_version", "stream_usage");
    }

    @Override
    public Provider create(Deployment d, ProviderContext context) {
        var s = d.settings();
        if (d.apiBase() == null) {
            throw ConfigError.at(s.origin(), "api_base of model \"" + d.name() + "\"",
                    "is required for provider azure: the resource endpoint (e.g. \"https://my-resource.openai.azure.com\")");
        }
        String token = s.hasPath("azure_ad_token") ? s.getString("azure_ad_token") : null;
        if (d.apiKey() != null && token != null) {
            throw ConfigError.at(s.origin(), "model \"" + d.name() + "\"", "give api_key or azure_ad_token, not both");
        }
        String deployment = s.hasPath("azure_deployment") ? s.getString("azure_deployment") : d.model();
        String version = s.hasPath("api_version") ? s.getString("api_version") : DEFAULT_API_VERSION;
        String base = "/openai/deployments/" + URLEncoder.encode(deployment, StandardCharsets.UTF_8).replace("+", "%20");
        String query = "?api-version=" + URLEncoder.encode(version, StandardCharsets.UTF_8);
        byte[] credential = token != null ? OpenAiProvider.credential(d, "azure_ad_token", HttpHeaderNames.AUTHORIZATION, "Bearer " + token)
                : d.apiKey() != null ? OpenAiProvider.credential(d, "api_key", "api-key", d.apiKey()) : null;
        boolean streamUsage = !s.hasPath("stream_usage") || s.getBoolean("stream_usage");
        Origin origin = Origin.parse(d.apiBase());
        if (origin.basePath().endsWith("/openai")) {
            // the endpoint as some Azure pages give it, with /openai already on: the paths add it
            origin = new Origin(origin.tls(), origin.host(), origin.port(), origin.basePath().substring(0, origin.basePath().length() - 7));
        }
        return new OpenAiProvider(d, context.upstream(), streamUsage, origin,
                Map.of(Endpoint.CHAT_COMPLETIONS, base + "/chat/completions" + query, Endpoint.EMBEDDINGS, base + "/embeddings" + query,
                        Endpoint.COMPLETIONS, base + "/completions" + query), credential);
    }
}
