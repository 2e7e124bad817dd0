package io.github.aggregator.testing;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * One real {@link Browser} per test class, for {@code @ExtendWith(BrowserExtension.class)}: started before the class's
 * first test, quit after its last, and handed to every constructor, test or lifecycle method that declares a {@code
 * Browser} parameter. When Chromium or chromedriver is missing, the class fails with {@link Browser#start()}'s one
 * line on how to install them.
 */
public final class BrowserExtension implements BeforeAllCallback, ParameterResolver {
    private static final Namespace NAMESPACE = Namespace.create(BrowserExtension.class);

    /** Quits the browser when JUnit closes the class's store, after the class's last test. */
    private record Started(Browser browser) implements ExtensionContext.Store.CloseableResource {
        @Override
        public void close() {
            browser.close();
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getStore(NAMESPACE).getOrComputeIfAbsent(Started.class, k -> new Started(Browser.start()));
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == Browser.class;
    }

    @Override
    public Browser resolveParameter(ParameterContext parameter, ExtensionContext context) {
        // a test's context sees its class's store (a store looks up its parent contexts)
        return context.getStore(NAMESPACE).get(Started.class, Started.class).browser();
    }
}
