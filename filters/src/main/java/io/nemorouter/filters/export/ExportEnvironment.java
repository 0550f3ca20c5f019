package io.nemorouter.filters.export;

import java.net.http.HttpClient;
import java.time.Clock;

/**
 * What an exporter may use: one HTTP client for all of them (its own threads, never an event loop),
 * the gateway's clock and this host's name (for a log service's {@code hostname}).
 */
public record ExportEnvironment(HttpClient http, Clock clock, String hostname) {
}
