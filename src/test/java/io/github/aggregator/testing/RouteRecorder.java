package io.github.aggregator.testing;

import io.helidon.http.Method;
import io.helidon.webserver.http.ErrorHandler;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpFeature;
import io.helidon.webserver.http.HttpRoute;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpSecurity;
import io.helidon.webserver.http.HttpService;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * An {@link HttpRouting.Builder} that records the routes registered on it instead of building a routing: every
 * {@code METHOD /path} a service declares (with the prefix it was registered under), and whether a catch-all route
 * (any method, any path) was added. Handlers are never run. For checking the routes against the API document.
 */
public final class RouteRecorder implements HttpRouting.Builder {
    private final Set<String> routes = new TreeSet<>();
    private boolean catchAll;

    /** {@code "GET /api/sources/{id}"} and the like, sorted. */
    public Set<String> routes() {
        return Set.copyOf(routes);
    }

    /** Whether a route for any method and any path was registered (the JSON 404 / 405). */
    public boolean catchAll() {
        return catchAll;
    }

    private static String join(String prefix, String path) {
        String p = prefix + (path.startsWith("/") || path.isEmpty() ? path : "/" + path);
        if (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p.isEmpty() ? "/" : p;
    }

    /** The rules a service registered under {@code prefix} sees. */
    private final class Scoped implements HttpRules {
        private final String prefix;

        Scoped(String prefix) {
            this.prefix = prefix;
        }

        @Override
        public HttpRules register(HttpService... services) {
            for (HttpService s : services) {
                s.routing(this);
            }
            return this;
        }

        @Override
        public HttpRules register(String pathPattern, HttpService... services) {
            for (HttpService s : services) {
                s.routing(new Scoped(join(prefix, pathPattern)));
            }
            return this;
        }

        @Override
        public HttpRules route(Method method, String pathPattern, Handler handler) {
            routes.add(method.text() + " " + join(prefix, pathPattern));
            return this;
        }

        @Override
        public HttpRules route(HttpRoute route) {
            catchAll = true;
            return this;
        }
    }

    private final Scoped root = new Scoped("");

    @Override
    public HttpRouting.Builder register(HttpService... service) {
        root.register(service);
        return this;
    }

    @Override
    public HttpRouting.Builder register(String path, HttpService... service) {
        root.register(path, service);
        return this;
    }

    @Override
    public HttpRouting.Builder route(Method method, String pathPattern, Handler handler) {
        root.route(method, pathPattern, handler);
        return this;
    }

    @Override
    public HttpRouting.Builder route(HttpRoute route) {
        root.route(route);
        return this;
    }

    @Override
    public HttpRouting.Builder addFilter(Filter filter) {
        return this;
    }

    @Override
    public HttpRouting.Builder addFeature(Supplier<? extends HttpFeature> feature) {
        return this;
    }

    @Override
    public <T extends Throwable> HttpRouting.Builder error(Class<T> exceptionClass, ErrorHandler<? super T> handler) {
        return this;
    }

    @Override
    public HttpRouting.Builder maxReRouteCount(int maxReRouteCount) {
        return this;
    }

    @Override
    public HttpRouting.Builder security(HttpSecurity security) {
        return this;
    }

    @Override
    public HttpRouting.Builder copy() {
        throw new UnsupportedOperationException("a recorder is not copied");
    }

    @Override
    public HttpRouting build() {
        throw new UnsupportedOperationException("a recorder builds no routing");
    }
}
