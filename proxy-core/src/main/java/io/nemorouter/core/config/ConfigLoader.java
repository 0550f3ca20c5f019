package io.nemorouter.core.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads the user's file over {@code reference.conf} and resolves {@code ${?ENV}} secrets.
 * Command-line overrides sit on top of both.
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
            Config merged = ConfigFactory.parseMap(overrides, "command line")
                    .withFallback(user)
                    .withFallback(ConfigFactory.parseResources(ConfigLoader.class.getClassLoader(), "reference.conf"))
                    .resolve();
            return new GatewayConfig(merged);
        } catch (ConfigException e) {
            throw GatewayConfig.explain(e);
        }
    }
}
