package io.github.aggregator.source;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The canonical name of one instance of a parametrised source: {@code weather(city=NYC;units=metric)}, parameters in
 * name order, values percent-encoded (everything but {@code A-Z a-z 0-9 - . _ ~}). Store, hub, poller and transport
 * key on this one string. A plain source's id has no parentheses.
 */
public final class InstanceId {
    private InstanceId() {}

    /** A name split into its template id and parameters; {@code params} is empty for a plain id. */
    public record Parts(String base, SortedMap<String, String> params) {}

    /** The canonical name of {@code base} with {@code params}. */
    public static String of(String base, Map<String, String> params) {
        StringBuilder sb = new StringBuilder(base).append('(');
        boolean first = true;
        for (Map.Entry<String, String> e : new TreeMap<>(params).entrySet()) {
            if (!first) {
                sb.append(';');
            }
            first = false;
            sb.append(e.getKey()).append('=').append(encode(e.getValue()));
        }
        return sb.append(')').toString();
    }

    /** True when {@code id} names an instance rather than a plain source. */
    public static boolean isInstance(String id) {
        return id.indexOf('(') > 0;
    }

    /** The template id of an instance name, or {@code id} itself for a plain id. */
    public static String base(String id) {
        int open = id.indexOf('(');
        return open > 0 ? id.substring(0, open) : id;
    }

    /**
     * Splits {@code name}: {@code weather(city=NYC)}, {@code weather(city=New%20York;units=metric)} or a plain id.
     * Values are percent-decoded (a {@code %} not followed by two hex digits stays as it is).
     *
     * @throws IllegalArgumentException with a one-line reason when the parentheses or pairs are malformed
     */
    public static Parts parse(String name) {
        int open = name.indexOf('(');
        if (open < 0) {
            return new Parts(name, Collections.emptySortedMap());
        }
        if (open == 0 || !name.endsWith(")")) {
            throw new IllegalArgumentException("an instance is written id(name=value;...)");
        }
        SortedMap<String, String> params = new TreeMap<>();
        String inner = name.substring(open + 1, name.length() - 1);
        if (!inner.isEmpty()) {
            for (String pair : inner.split(";", -1)) {
                int eq = pair.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("an instance is written id(name=value;...)");
                }
                String key = pair.substring(0, eq);
                if (params.put(key, decode(pair.substring(eq + 1))) != null) {
                    throw new IllegalArgumentException("parameter \"" + key + "\" is given twice");
                }
            }
        }
        return new Parts(name.substring(0, open), params);
    }

    /** Percent-encodes every byte of {@code value}'s UTF-8 form except the unreserved characters of RFC 3986. */
    public static String encode(String value) {
        StringBuilder sb = new StringBuilder(value.length());
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if ((c >= 'A' && c <= 'Z')
                    || (c >= 'a' && c <= 'z')
                    || (c >= '0' && c <= '9')
                    || c == '-'
                    || c == '.'
                    || c == '_'
                    || c == '~') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)));
                sb.append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return sb.toString();
    }

    /** Percent-decodes {@code s} as UTF-8; a {@code %} not followed by two hex digits stays as it is. */
    public static String decode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        int i = 0;
        while (i < s.length()) {
            int c = s.codePointAt(i);
            if (c == '%' && i + 2 < s.length() && hex(s.charAt(i + 1)) >= 0 && hex(s.charAt(i + 2)) >= 0) {
                out.write(hex(s.charAt(i + 1)) * 16 + hex(s.charAt(i + 2)));
                i += 3;
            } else {
                byte[] b = Character.toString(c).getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
                i += Character.charCount(c);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static int hex(char c) {
        return Character.digit(c, 16);
    }
}
