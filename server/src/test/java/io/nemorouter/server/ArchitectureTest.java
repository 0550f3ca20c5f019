package io.nemorouter.server;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.nemorouter.testkit.ArchitectureRules;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The layering rules of the gateway's own modules (see {@link ArchitectureRules}); a broken one
 * fails the build, naming each offending dependency. Run as plain JUnit tests over the imported
 * classes, so each rule is a test that reports (and can fail) like any other.
 */
class ArchitectureTest {
    private static JavaClasses gateway;

    @BeforeAll
    static void importTheGateway() {
        gateway = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.nemorouter");
        // the import must see every module, or the rules below would pass on nothing
        for (String pkg : new String[]{"io.nemorouter.core.engine", "io.nemorouter.core.internal.http1",
                "io.nemorouter.filters.routing", "io.nemorouter.providers.openai", "io.nemorouter.server"}) {
            assertTrue(gateway.containPackage(pkg), "classes of " + pkg + " were not imported");
        }
    }

    @Test
    void coreHasNoPackageCycles() {
        ArchitectureRules.coreHasNoPackageCycles().check(gateway);
    }

    @Test
    void wireCodeDependsOnNothingAbove() {
        ArchitectureRules.wireCodeDependsOnNothingAbove().check(gateway);
    }

    @Test
    void publicApiDoesNotDependOnItsImplementation() {
        ArchitectureRules.publicApiDoesNotDependOnItsImplementation().check(gateway);
    }

    @Test
    void filtersAndProvidersUseOnlyThePublicApi() {
        ArchitectureRules.usesOnlyThePublicApi("io.nemorouter.filters..", "io.nemorouter.providers..").check(gateway);
    }

    @Test
    void nothingDependsOnTheServerModule() {
        ArchitectureRules.nothingDependsOnTheServerModule().check(gateway);
    }
}
