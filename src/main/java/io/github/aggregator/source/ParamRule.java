package io.github.aggregator.source;

import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * What one parameter of a parametrised source accepts: an allow-list of values, or a regular expression the whole
 * value must match (exactly one of the two), and an optional default used when a client names none. Immutable.
 *
 * @param name the placeholder's name, {@code [A-Za-z][A-Za-z0-9_]*}
 * @param values the values allowed, or empty when {@code pattern} decides
 * @param pattern a regular expression the whole value must match, or null when {@code values} decides
 * @param dflt the value used when a client names none, or null (then the parameter is required)
 */
public record ParamRule(String name, List<String> values, String pattern, String dflt) {
    /** Longest value accepted whatever the pattern allows, in characters. */
    public static final int MAX_VALUE_LENGTH = 256;

    static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]*");

    public ParamRule {
        String field = "params." + name;
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidField("params", "parameter names must match [A-Za-z][A-Za-z0-9_]*, got \"" + name + "\"");
        }
        values = List.copyOf(values == null ? List.of() : values);
        if (values.isEmpty() == (pattern == null)) {
            throw new InvalidField(field, "needs exactly one of values (an allow-list) or pattern");
        }
        for (String v : values) {
            if (v.isEmpty() || v.length() > MAX_VALUE_LENGTH) {
                throw new InvalidField(field + ".values", "values must be 1 to " + MAX_VALUE_LENGTH + " characters");
            }
        }
        if (pattern != null) {
            try {
                Pattern.compile(pattern);
            } catch (PatternSyntaxException e) {
                throw new InvalidField(field + ".pattern", "is not a valid regular expression: " + e.getDescription());
            }
        }
        if (dflt != null && check(name, values, pattern, dflt) != null) {
            throw new InvalidField(field + ".default", "\"" + dflt + "\" is not an allowed value");
        }
    }

    /** Why {@code value} is refused (one line, naming the parameter), or null when it is allowed. */
    public String refusal(String value) {
        return check(name, values, pattern, value);
    }

    private static String check(String name, List<String> values, String pattern, String value) {
        if (value.isEmpty()) {
            return "parameter \"" + name + "\" must not be empty";
        }
        if (value.length() > MAX_VALUE_LENGTH) {
            return "parameter \"" + name + "\" is longer than " + MAX_VALUE_LENGTH + " characters";
        }
        if (!values.isEmpty() && !values.contains(value)) {
            return "parameter \"" + name + "\" must be one of " + String.join(", ", values);
        }
        if (pattern != null && !Pattern.compile(pattern).matcher(value).matches()) {
            return "parameter \"" + name + "\" must match " + pattern;
        }
        return null;
    }
}
