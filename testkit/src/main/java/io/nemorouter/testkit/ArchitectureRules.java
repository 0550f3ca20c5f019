package io.nemorouter.testkit;

import com.tngtech.archunit.lang.ArchRule;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The layering of Nemo Router as ArchUnit rules, for the gateway's own build and for extension
 * authors, who can hold their code to the same public API:
 *
 * <pre>{@code
 * @AnalyzeClasses(packages = "com.example.myextension")
 * class MyArchitectureTest {
 *     @ArchTest
 *     static final ArchRule publicApiOnly = ArchitectureRules.usesOnlyThePublicApi("com.example.myextension..");
 * }
 * }</pre>
 *
 * <p>The public API of proxy-core is the exchange and its answer ({@code core.exchange}), the
 * extension SPI ({@code core.extension}), the provider SPI ({@code core.provider}), the OpenAI
 * request domain ({@code core.openai}), config ({@code core.config}) and the upstream HTTP client
 * ({@code core.upstream}). The rest (the runtime in {@code core.engine}, the HTTP front in
 * {@code core.server}, metrics wiring, and the HTTP/1 and JSON wire code under
 * {@code core.internal}) may change in any release.
 */
public final class ArchitectureRules {
    /** The packages of proxy-core that extensions and providers may use. */
    public static final String[] PUBLIC_API = {"io.nemorouter.core.exchange..", "io.nemorouter.core.extension..",
            "io.nemorouter.core.provider..", "io.nemorouter.core.openai..", "io.nemorouter.core.config..",
            "io.nemorouter.core.upstream.."};
    /** The packages of proxy-core that are not its API. */
    public static final String[] CORE_INTERNALS = {"io.nemorouter.core.internal..", "io.nemorouter.core.engine..",
            "io.nemorouter.core.server..", "io.nemorouter.core.metrics.."};

    private ArchitectureRules() {
    }

    /** Code in {@code packages} uses proxy-core only through its public API. */
    public static ArchRule usesOnlyThePublicApi(String... packages) {
        return noClasses().that().resideInAnyPackage(packages)
                .should().dependOnClassesThat().resideInAnyPackage(CORE_INTERNALS)
                .because("extensions and providers are written against the public API only");
    }

    /** No cycles between the packages of proxy-core. */
    public static ArchRule coreHasNoPackageCycles() {
        return slices().matching("io.nemorouter.core.(**)").should().beFreeOfCycles();
    }

    /** The HTTP/1 and JSON wire code knows bytes, not exchanges, errors or config: it uses nothing of the gateway above it. */
    public static ArchRule wireCodeDependsOnNothingAbove() {
        return noClasses().that().resideInAPackage("io.nemorouter.core.internal..")
                .should().dependOnClassesThat().resideInAnyPackage("io.nemorouter.core.exchange..",
                        "io.nemorouter.core.extension..", "io.nemorouter.core.provider..", "io.nemorouter.core.openai..",
                        "io.nemorouter.core.config..", "io.nemorouter.core.upstream..", "io.nemorouter.core.engine..",
                        "io.nemorouter.core.server..", "io.nemorouter.core.metrics..")
                .because("wire code should know bytes, not exchanges or OpenAI errors");
    }

    /** The public API does not reach into the runtime or the server that implement it. */
    public static ArchRule publicApiDoesNotDependOnItsImplementation() {
        return noClasses().that().resideInAnyPackage(PUBLIC_API)
                .should().dependOnClassesThat().resideInAnyPackage("io.nemorouter.core.engine..",
                        "io.nemorouter.core.server..", "io.nemorouter.core.metrics..");
    }

    /** Nothing depends on the server module (Main, the launcher's wiring). */
    public static ArchRule nothingDependsOnTheServerModule() {
        return noClasses().that().resideOutsideOfPackage("io.nemorouter.server..")
                .should().dependOnClassesThat().resideInAPackage("io.nemorouter.server..");
    }
}
