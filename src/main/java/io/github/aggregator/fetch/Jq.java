package io.github.aggregator.fetch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.github.aggregator.source.Json;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
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

    /** The scope of an expression that calls no function: jq's builtins are then never loaded. */
    private static final Scope NO_FUNCTIONS = Scope.newEmptyScope();
    /** Words of jq's grammar that are no function call. */
    private static final Set<String> KEYWORDS = Set.of(
            "if", "then", "elif", "else", "end", "and", "or", "as", "reduce", "foreach", "try", "catch", "true",
            "false", "null");

    private final String text;
    private final JsonQuery query;
    private final boolean callsFunctions;

    private Jq(String text, JsonQuery query) {
        this.text = text;
        this.query = query;
        this.callsFunctions = mayCallFunctions(text);
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
    public static Jq of(String text) {
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
            query.apply(Scope.newChildScope(callsFunctions ? Builtins.ROOT : NO_FUNCTIONS), in, value -> {
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
     * Whether {@code text} may call a function (a builtin such as {@code length}, {@code map} or {@code not}, or one it
     * defines): false only when it surely calls none, i.e. it is made only of paths ({@code .a}, {@code ."b"}, {@code
     * .[0]}, {@code .[]}), literals, variables, object and array construction, operators ({@code |}, {@code ,},
     * arithmetic, comparison, {@code and}, {@code or}, {@code //}, {@code ?}) and {@code if}, {@code reduce}, {@code
     * foreach}, {@code try}. Anything else counts as a call: a word that is no keyword, object key or field name,
     * {@code ..}, a format ({@code @base64}), an assignment ({@code |=}, {@code =}, ...), string interpolation. Such an
     * expression runs without jq's builtin functions, which then need not be loaded (jackson-jq compiles its
     * jq-defined ones from source: about 100 ms at start).
     */
    public static boolean mayCallFunctions(String text) {
        Deque<Character> open = new ArrayDeque<>(); // the brackets around the current position
        int n = text.length();
        int i = 0;
        while (i < n) {
            char c = text.charAt(i);
            if (c == '"') {
                i++;
                while (i < n && text.charAt(i) != '"') {
                    if (text.charAt(i) == '\\') {
                        if (i + 1 < n && text.charAt(i + 1) == '(') {
                            return true; // interpolation: an expression inside the string
                        }
                        i++;
                    }
                    i++;
                }
                i++;
            } else if (c == '#') {
                while (i < n && text.charAt(i) != '\n') {
                    i++;
                }
            } else if (Character.isLetter(c) || c == '_') {
                int start = i;
                while (i < n && (Character.isLetterOrDigit(text.charAt(i)) || text.charAt(i) == '_')) {
                    i++;
                }
                char before = start > 0 ? text.charAt(start - 1) : ' ';
                if (before == '.' || before == '$') {
                    continue; // a field name or a variable
                }
                if (Character.isDigit(before)) {
                    return true; // part of a number (1e3): not worth telling apart
                }
                if (KEYWORDS.contains(text.substring(start, i))) {
                    continue;
                }
                int next = i;
                while (next < n && Character.isWhitespace(text.charAt(next))) {
                    next++;
                }
                boolean key = next < n
                        && text.charAt(next) == ':'
                        && (next + 1 >= n || text.charAt(next + 1) != ':')
                        && !open.isEmpty()
                        && open.peek() == '{';
                if (!key) {
                    return true;
                }
            } else {
                switch (c) {
                    case '{', '[', '(' -> open.push(c);
                    case '}', ']', ')' -> open.poll();
                    case '@' -> {
                        return true; // a format such as @base64
                    }
                    case '.' -> {
                        if (i + 1 < n && text.charAt(i + 1) == '.') {
                            return true; // .. is recurse
                        }
                    }
                    case '=' -> {
                        char before = i > 0 ? text.charAt(i - 1) : ' ';
                        boolean comparison = before == '='
                                || before == '!'
                                || before == '<'
                                || before == '>'
                                || (i + 1 < n && text.charAt(i + 1) == '=');
                        if (!comparison) {
                            return true; // an assignment (=, |=, +=, //= ...)
                        }
                    }
                    default -> {}
                }
                i++;
            }
        }
        return false;
    }

    /**
     * Loads jq's builtin functions now rather than at the first {@link #apply} that needs them. They take about as
     * long as the rest of the start-up together (jackson-jq compiles its jq-defined builtins from source), and
     * compiling an expression does not need them, so the service loads them on a background thread while it starts
     * when a configured transform may call a function ({@link #mayCallFunctions}). Idempotent; thread-safe.
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
