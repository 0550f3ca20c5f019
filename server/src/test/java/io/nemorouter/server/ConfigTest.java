package io.nemorouter.server;

import io.nemorouter.core.config.ConfigError;
import io.nemorouter.core.config.ConfigLoader;
import io.nemorouter.core.server.GatewayServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A config mistake stops start-up with one line: the file, the line, the key, and what is wrong. */
class ConfigTest {
    private Path file;

    @BeforeEach
    void file() throws Exception {
        file = Files.createTempFile("nemo", ".conf");
    }

    @AfterEach
    void delete() throws Exception {
        Files.deleteIfExists(file);
    }

    /** The message start-up stops with for {@code hocon}: loading, then starting (extensions, providers, catalog). */
    private String error(String hocon) throws Exception {
        Files.writeString(file, hocon);
        ConfigError e = assertThrows(ConfigError.class, () -> GatewayServer.builder(ConfigLoader.load(file,
                Map.of("nemo.server.port", 0, "nemo.server.host", "127.0.0.1"))).start().stop());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    private String at(int line) {
        return file + ":" + line + ": ";
    }

    @Test
    void aTypoOutsideTheCatalogNamesTheNearestKey() throws Exception {
        assertEquals(at(2) + "nemo.server.prot: unknown key; did you mean \"port\"?",
                error("nemo {\n  server { prot = 5000 }\n}\n"));
        assertEquals(at(1) + "nemo.upstream.conect_timeout: unknown key; did you mean \"connect_timeout\"?",
                error("nemo.upstream.conect_timeout = 5s\n"));
        assertEquals(at(1) + "nemo.model: unknown key; did you mean \"models\"?",
                error("nemo.model = [ { name = x, provider = mock } ]\n"));
        assertTrue(error("nemo.server { host = \"127.0.0.1\", colour = red }\n")
                .startsWith(at(1) + "nemo.server.colour: unknown key (known: "), "far from every key: the list instead");
    }

    @Test
    void theOldPipelineKeySaysWhereFiltersWent() throws Exception {
        String message = error("nemo.pipeline = [route]\n");
        assertTrue(message.startsWith(at(1) + "nemo.pipeline: unknown key: filters now come from extensions"), message);
    }

    @Test
    void extensionBlocksAreCheckedToo() throws Exception {
        assertEquals(at(1) + "nemo.router.strategy: unknown strategy \"first\" (known: least-busy, latency, weighted, cost)", error("nemo.router { strategy = first }\n"));
        assertEquals(at(1) + "nemo.routr: unknown key; did you mean \"router\"?", error("nemo.routr.enabled = false\n"));
        assertTrue(error("nemo.router.enabled = false\n").contains("no extension sets the routing strategy"));
    }

    @Test
    void catalogEntriesTakeTheirProvidersKeys() throws Exception {
        assertEquals(at(1) + "nemo.models[0].api_base: unknown key for provider mock (known: cache_write_cost_per_mtok, cached_input_cost_per_mtok, context_window, id,"
                        + " input_cost_per_mtok, max_output_tokens, max_parallel, mock, model, name, optional, output_cost_per_mtok, provider, rpm, stand_in, tags, tpm, weight)",
                error("nemo.models = [ { name = x, provider = mock, api_base = \"http://h/v1\" } ]\n"));
        assertEquals(at(1) + "nemo.models[0].mcok: unknown key for provider mock; did you mean \"mock\"?",
                error("nemo.models = [ { name = x, provider = mock, mcok { chunks = 2 } } ]\n"));
    }

    @Test
    void syntaxAndValueErrorsUseTheSameOneLineForm() throws Exception {
        String syntax = error("nemo {\n  server { port = 4000 }\n  models = [\n");
        assertTrue(syntax.startsWith(file + ":"), syntax);
        assertFalse(syntax.contains("@"), "no Typesafe origin description: " + syntax);

        String duration = error("nemo {\n  upstream.connect_timeout = 5 sekunde\n}\n");
        assertTrue(duration.startsWith(at(2) + "nemo.upstream.connect_timeout: "), duration);
        assertTrue(duration.contains("sekunde"), duration);

        String type = error("nemo.server.io_threads = lots\n");
        assertTrue(type.startsWith(at(1) + "nemo.server.io_threads: "), type);
    }

    @Test
    void theReadmeSampleIsTheRealMessage() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        Matcher sample = Pattern.compile("nemo-router: bad config: (\\S+?):(\\d+): nemo\\.models\\[(\\d+)]\\.provider: (.*)")
                .matcher(readme);
        assertTrue(sample.find(), "the README shows a sample error");
        int line = Integer.parseInt(sample.group(2));
        int index = Integer.parseInt(sample.group(3));
        // a file with the README's mistake where the README says it is: comments, the list, entries, then the typo
        StringBuilder hocon = new StringBuilder();
        for (int i = 0; i < line - 2 - index; i++) {
            hocon.append("# a comment\n");
        }
        hocon.append("nemo.models = [\n");
        for (int i = 0; i < index; i++) {
            hocon.append("  { name = \"m").append(i).append("\", provider = mock }\n");
        }
        hocon.append("  { name = \"gpt-4o\", provider = opnai, api_base = \"https://api.openai.com/v1\" }\n]\n");
        assertEquals(at(line) + "nemo.models[" + index + "].provider: " + sample.group(4), error(hocon.toString()));
    }
}
