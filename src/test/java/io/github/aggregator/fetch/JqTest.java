package io.github.aggregator.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.github.aggregator.source.Json;
import java.util.ArrayList;
import java.util.List;
import net.thisptr.jackson.jq.BuiltinFunctionLoader;
import net.thisptr.jackson.jq.JsonQuery;
import net.thisptr.jackson.jq.Scope;
import net.thisptr.jackson.jq.Versions;
import org.junit.jupiter.api.Test;

/**
 * Which expressions run without jq's builtin functions ({@link Jq#mayCallFunctions}), and that each one that does gives
 * the same result as with them: an expression wrongly taken to call no function would fail here with jq's "is not
 * defined", since {@link Jq#apply} then runs it in a scope that has none.
 */
class JqTest {
    private static final String INPUT = """
            {"a": 1, "b": [1, 2, 3], "c": {"d": "x"}, "demo-ticker": {"price": 9.5}, "k": "key", "v": true,
             "n": null}""";

    /** Expressions made only of paths, literals, variables, construction, operators and control flow. */
    private static final List<String> FUNCTION_FREE = List.of(
            ".",
            ".a",
            ".c.d",
            ".\"demo-ticker\".price",
            "{price: .\"demo-ticker\".price, at: .c.d}",
            "{\"x\": .a, y: [.b[] | . * 2]}",
            "{(.k): .a}",
            "{$__loc__}",
            ".b[0]",
            ".b[1:]",
            ".b[]",
            ".b[]?",
            ".missing?",
            ".a as $x | $x + 1",
            ". as {a: $x, b: [$first]} | [$x, $first]",
            "if .v then \"yes\" elif .n then \"no\" else \"none\" end",
            "reduce .b[] as $x (0; . + $x)",
            "[foreach .b[] as $x (0; . + $x)]",
            "[foreach .b[] as $x (0; . + $x; . * 10)]",
            "try .c.d catch \"failed\"",
            ".n // \"default\"",
            "-(.a)",
            ".v and .a == 1 or false",
            "[.a != 2, .a < 2, .a <= 1, .a >= 1, .a > 0]",
            ".a + 2 - 1 * 3 / 3 % 2",
            "[.a, .b[0]], null, true",
            "\"a # not a comment\" # a comment: length\n",
            "\"\\\"quoted\\\" length\"");

    /** Expressions that call a function, or might: each must keep the builtins. */
    private static final List<String> CALLING = List.of(
            "length",
            ".b | map(. + 1)",
            ".v | not",
            "empty",
            "[.b[] | select(. > 1)]",
            "{a}",
            "..",
            "@base64",
            ".a |= . + 1",
            ".a = 2",
            ".a += 1",
            ".a //= 3",
            "\"\\(.a | tostring)\"",
            "def f: . + 1; .a | f",
            "1e3",
            "keys[0]",
            "label $out | 1",
            "{x: length}",
            ".b[length - 1]");

    @Test
    void expressionsOfPathsAndOperatorsCallNoFunction() {
        for (String text : FUNCTION_FREE) {
            assertFalse(Jq.mayCallFunctions(text), text);
        }
        for (String text : CALLING) {
            assertTrue(Jq.mayCallFunctions(text), text);
        }
    }

    @Test
    void withoutTheBuiltinsTheResultIsTheSame() throws Exception {
        JsonNode in = Json.MAPPER.readTree(INPUT);
        Scope builtins = Scope.newEmptyScope();
        BuiltinFunctionLoader.getInstance().loadFunctions(Versions.JQ_1_6, builtins);
        for (String text : FUNCTION_FREE) {
            List<JsonNode> out = new ArrayList<>();
            JsonQuery.compile(text, Versions.JQ_1_6).apply(Scope.newChildScope(builtins), in, out::add);
            JsonNode expected;
            if (out.size() == 1) {
                expected = out.get(0);
            } else {
                ArrayNode array = Json.MAPPER.createArrayNode();
                out.forEach(array::add);
                expected = array;
            }
            assertEquals(expected, Jq.compile(text).apply(in), text);
        }
    }

    @Test
    void aFunctionCallStillWorks() throws Exception {
        JsonNode in = Json.MAPPER.readTree(INPUT);
        assertEquals(
                Json.MAPPER.readTree("[2,3,4]"), Jq.compile(".b | map(. + 1)").apply(in));
        assertEquals(Json.MAPPER.readTree("3"), Jq.compile(".b | length").apply(in));
    }
}
