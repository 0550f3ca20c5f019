package io.nemorouter.core.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads the user's file over every {@code reference.conf} on the class path (the core's and each
 * extension's) and resolves {@code ${?ENV}} secrets. Command-line overrides sit on top of both.
 */
public final class ConfigLoader {
    private ConfigLoader() {
    }

    public static GatewayConfig load(Path file, Map<String, Object> overrides) {
        try {
            Config user = ConfigFactory.empty();
            if (file != null) {
                if (!Files.isReadable(file)) {
                    throw new ConfigError(file + ": config file not found or not readable");
                }
                user = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
            }
            // every reference.conf on the class path: the core's and each extension's defaults
            Config reference = ConfigFactory.parseResources(ConfigLoader.class.getClassLoader(), "reference.conf");
            Config merged = ConfigFactory.parseMap(overrides, "command line")
                    .withFallback(user)
                    .withFallback(reference)
                    .resolve();
            return new GatewayConfig(merged, reference.resolve());
        } catch (ConfigException e) {
            throw GatewayConfig.explain(e);
        }
    }
}
