package io.github.aggregator.fetch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.github.aggregator.source.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import net.thisptr.jackson.jq.BuiltinFunctionLoader;
import net.thisptr.jackson.jq.JsonQuery;
import net.thisptr.jackson.jq.Scope;
import net.thisptr.jackson.jq.Versions;
import net.thisptr.jackson.jq.exception.JsonQueryException;

/**
 * A compiled jq expression (jackson-jq, jq 1.6 dialect). Equal when the expression text is equal. Thread-safe.
 *
 * <p>One output is the result; several outputs become an array; none is an error. Output is capped at {@link
 * #MAX_OUTPUTS} values so that a generator such as {@code repeat(.)} ends in an error instead of exhausting memory.
 */
public final class Jq {
    static final int MAX_OUTPUTS = 10_000;
    /** Compiled expressions by text: a config holds few, and a reload keeps most of them. */
    private static final Map<String, Jq> COMPILED = new ConcurrentHashMap<>();

    private final String text;
    private final JsonQuery query;

    private Jq(String text, JsonQuery query) {
        this.text = text;
        this.query = query;
    }

    /**
     * Compiles {@code text}.
     *
     * @throws IllegalArgumentException with jq's own message when it does not compile
     */
    public static Jq compile(String text) {
        try {
            return new Jq(text, JsonQuery.compile(text, Versions.JQ_1_6));
        } catch (JsonQueryException | RuntimeException e) {
            throw new IllegalArgumentException("does not compile: " + shortMessage(e));
        }
    }

    /** The compiled form of {@code text}, compiled once per text; text that does not compile fails as in compile. */
    static Jq of(String text) {
        Jq jq = COMPILED.get(text);
        if (jq == null) {
            jq = compile(text);
            COMPILED.putIfAbsent(text, jq);
        }
        return jq;
    }

    /**
     * Applies the expression to {@code in}.
     *
     * @throws IllegalStateException with a short message when jq fails at run time or gives no output
     */
    public JsonNode apply(JsonNode in) {
        List<JsonNode> out = new ArrayList<>(1);
        try {
            query.apply(Scope.newChildScope(Builtins.ROOT), in, value -> {
                if (out.size() >= MAX_OUTPUTS) {
                    throw new JsonQueryException("more than " + MAX_OUTPUTS + " outputs");
                }
                out.add(value);
            });
        } catch (JsonQueryException | RuntimeException | StackOverflowError e) {
            throw new IllegalStateException(shortMessage(e));
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("no output");
        }
        if (out.size() == 1) {
            return out.get(0);
        }
        ArrayNode array = Json.MAPPER.createArrayNode();
        out.forEach(array::add);
        return array;
    }

    /** The expression as written. */
    public String text() {
        return text;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Jq other && other.text.equals(text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    @Override
    public String toString() {
        return text;
    }

    private static String shortMessage(Throwable e) {
        if (e instanceof StackOverflowError) {
            return "recursion too deep";
        }
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        m = m.replaceAll("\\s+", " ").trim();
        return m.length() > 200 ? m.substring(0, 200) + "…" : m;
    }

    /**
     * Loads jq's builtin functions now rather than at the first {@link #apply}. They take about as long as the rest of
     * the start-up together (jackson-jq compiles its jq-defined builtins from source), and compiling an expression
     * does not need them, so the service loads them on a background thread while it starts. Idempotent; thread-safe.
     */
    public static void preload() {
        Builtins.ROOT.hashCode();
    }

    /** The scope with jq's builtin functions, loaded on first use (class initialization is lazy and thread-safe). */
    private static final class Builtins {
        static final Scope ROOT = rootScope();

        private static Scope rootScope() {
            Scope scope = Scope.newEmptyScope();
            BuiltinFunctionLoader.getInstance().loadFunctions(Versions.JQ_1_6, scope);
            return scope;
        }
    }
}
