package io.nemorouter.core.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.nemorouter.core.openai.Usage;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PricingTest {
    private static final double EPS = 1e-12;

    @Test
    void theBundledTableIsDatedAndEveryEntryIsSane() {
        PriceTable t = PriceTable.bundled();
        assertTrue(t.asOf().matches("\\d{4}-\\d{2}-\\d{2}"), t.asOf());
        assertTrue(t.size() >= 30, "common OpenAI, Gemini and Anthropic models: " + t.size());
        for (String m : new String[]{"gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3", "text-embedding-3-small", "gemini-2.5-pro",
                "gemini-2.5-flash", "text-embedding-004", "claude-sonnet-4-5", "claude-3-5-haiku"}) {
            Pricing p = t.find(m);
            assertNotNull(p, m);
            assertTrue(p.input() > 0, m);
            assertTrue(p.cachedInput() <= p.input() && p.cachedInput() >= 0, m);
            assertTrue(p.output() >= 0 && p.contextWindow() > 0, m);
            assertEquals("table", p.source());
        }
        assertTrue(t.find("gpt-4o").maxOutputTokens() > 0);
    }

    @Test
    void findsDatedVersionedAndPrefixedNames() {
        PriceTable t = PriceTable.bundled();
        assertSame(t.find("gpt-4o"), t.find("gpt-4o-2024-08-06"));
        assertSame(t.find("gpt-4o"), t.find("openai/gpt-4o"));
        assertSame(t.find("gemini-2.0-flash"), t.find("gemini-2.0-flash-001"));
        assertSame(t.find("gemini-2.5-flash"), t.find("models/gemini-2.5-flash"));
        assertSame(t.find("claude-sonnet-4-5"), t.find("claude-sonnet-4-5-20250929"));
        assertSame(t.find("claude-sonnet-4"), t.find("claude-sonnet-4@20250514"));
        assertSame(t.find("claude-3-5-haiku"), t.find("claude-3-5-haiku-latest"));
        // a dated version with a price of its own keeps it
        assertEquals(5.00, t.find("gpt-4o-2024-05-13").input(), EPS);
        assertNull(t.find("my-finetune"));
        assertNull(t.find("gpt-4o-mini-tts-something-else"));
    }

    @Test
    void costCountsCachedPromptTokensAtTheirOwnPrice() {
        Pricing gpt4o = PriceTable.bundled().find("gpt-4o"); // 2.50 in, 1.25 cached, 10.00 out
        // 2,006 prompt tokens of which 1,920 cached, 300 completion tokens
        double expected = (86 * 2.50 + 1920 * 1.25 + 300 * 10.00) / 1e6;
        assertEquals(expected, gpt4o.cost(new Usage(2006, 300, 2306, 1920)), EPS);
        assertEquals((1000 * 2.50 + 10 * 10.00) / 1e6, gpt4o.cost(new Usage(1000, 10, 1010)), EPS);
        // a cached count above the prompt (a confused upstream) is bounded by it
        assertEquals((10 * 1.25) / 1e6, gpt4o.cost(10, 50, 0), EPS);
    }

    @Test
    void aLongPromptMovesAGeminiProCallToItsLongContextRates() {
        Pricing pro = PriceTable.bundled().find("gemini-2.5-pro"); // <= 200k: 1.25 / 10.00; above: 2.50 / 15.00
        assertEquals((200_000 * 1.25 + 1000 * 10.00) / 1e6, pro.cost(200_000, 0, 1000), EPS);
        assertEquals((200_001 * 2.50 + 1000 * 15.00) / 1e6, pro.cost(200_001, 0, 1000), EPS);
        assertEquals(2.50, pro.maxInput(), EPS);
        assertEquals(15.00, pro.maxOutput(), EPS);
    }

    private static Deployment entry(String hocon) {
        Config c = ConfigFactory.parseString("nemo { models = [ " + hocon + " ] }")
                .withFallback(ConfigFactory.parseResources(PricingTest.class.getClassLoader(), "reference.conf")).resolve();
        GatewayConfig g = new GatewayConfig(c, ConfigFactory.parseResources(PricingTest.class.getClassLoader(), "reference.conf").resolve());
        return g.deployments.get(0);
    }

    @Test
    void aCatalogEntryTakesTheTablesPricesByItsModelUnlessItSetsItsOwn() {
        Deployment fromTable = entry("{ name = fast, provider = mock, model = \"gemini-2.5-flash\" }");
        assertEquals("table", fromTable.pricing().source());
        assertEquals(0.30, fromTable.inputCostPerMtok(), EPS);
        assertEquals(65536, fromTable.pricing().maxOutputTokens());

        Deployment own = entry("{ name = gpt-4o, provider = mock, input_cost_per_mtok = 1, output_cost_per_mtok = 2,"
                + " max_output_tokens = 100 }");
        assertEquals("catalog", own.pricing().source());
        assertEquals((1000 * 1 + 10 * 2) / 1e6, own.cost(new Usage(1000, 10, 1010, 500)), EPS); // cached = input when not set
        assertEquals(100, own.pricing().maxOutputTokens());
        assertEquals(128000, own.pricing().contextWindow()); // what the entry does not say still comes from the table
        assertNull(own.pricing().longContext());

        Deployment cachedOwn = entry("{ name = x, provider = mock, input_cost_per_mtok = 1, cached_input_cost_per_mtok = 0.1 }");
        assertEquals((500 * 1 + 500 * 0.1) / 1e6, cachedOwn.cost(new Usage(1000, 0, 1000, 500)), EPS);
    }

    @Test
    void aModelNobodyPricesIsUnpricedAndCostsNothing() {
        Config ref = ConfigFactory.parseResources(PricingTest.class.getClassLoader(), "reference.conf").resolve();
        GatewayConfig g = new GatewayConfig(ConfigFactory.parseMap(Map.of()).withFallback(ConfigFactory.parseString(
                "nemo.models = [ { name = tuned, provider = mock, model = \"acme-finetune-7\" } ]")).withFallback(ref).resolve(), ref);
        Deployment d = g.deployments.get(0);
        assertFalse(d.pricing().known());
        assertEquals(0, d.cost(new Usage(1000, 1000, 2000)), EPS);
        assertEquals(java.util.List.of("tuned (mock/acme-finetune-7)"), g.unpriced);
    }

    @Test
    void aBadPriceOrTokenCountStopsStartWithItsPath() {
        ConfigError e = assertThrows(ConfigError.class, () -> entry("{ name = x, provider = mock, max_output_tokens = -5 }"));
        assertTrue(e.getMessage().contains("nemo.models[0].max_output_tokens: must be a positive number of tokens"), e.getMessage());
        e = assertThrows(ConfigError.class, () -> entry("{ name = x, provider = mock, cached_input_cost_per_mtok = -1 }"));
        assertTrue(e.getMessage().contains("nemo.models[0].cached_input_cost_per_mtok: must be a number >= 0"), e.getMessage());
    }

    @Test
    void anthropicCacheWritesCostMoreThanInputAndReadsLess() {
        Pricing sonnet = PriceTable.bundled().find("claude-sonnet-4-5");
        assertEquals(3.75, sonnet.cacheWrite(), EPS);
        // 1,000 plain prompt tokens, 2,000 written to the cache, 4,000 read from it, 100 out
        Usage u = new Usage(7000, 100, 7100, 4000, false, 2000);
        assertEquals((1000 * 3.00 + 2000 * 3.75 + 4000 * 0.30 + 100 * 15.00) / 1e6, sonnet.cost(u), EPS);
        assertEquals(3.75, sonnet.maxInput(), EPS, "a budget's worst case is a prompt all written to the cache");
        Pricing gpt = PriceTable.bundled().find("gpt-4o");
        assertEquals(gpt.input(), gpt.cacheWrite(), EPS, "elsewhere a write costs what input does");
    }

    @Test
    void anEntrySetsItsOwnCacheWriteRate() {
        Deployment own = entry("{ name = x, provider = mock, model = \"claude-sonnet-4-5\", cache_write_cost_per_mtok = 6 }");
        assertEquals(6, own.pricing().cacheWrite(), EPS);
        assertEquals(3.00, own.pricing().input(), EPS, "the table's other prices stay");
        Deployment table = entry("{ name = x, provider = mock, model = \"claude-sonnet-4-5\" }");
        assertEquals(3.75, table.pricing().cacheWrite(), EPS);
        Deployment ownInput = entry("{ name = x, provider = mock, model = \"claude-sonnet-4-5\", input_cost_per_mtok = 2 }");
        assertEquals(2, ownInput.pricing().cacheWrite(), EPS, "an entry with its own input rate writes at it unless it says");
    }
}
