package io.nemorouter.examples;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.nemorouter.testkit.ArchitectureRules;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The example uses the gateway's public API only: what an extension author's build can check too. */
class ExampleArchitectureTest {
    @Test
    void theExampleUsesOnlyThePublicApi() {
        JavaClasses example = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.nemorouter.examples");
        assertTrue(example.containPackage("io.nemorouter.examples.textgen"), "the example's classes were imported");
        ArchitectureRules.usesOnlyThePublicApi("io.nemorouter.examples..").check(example);
    }
}
