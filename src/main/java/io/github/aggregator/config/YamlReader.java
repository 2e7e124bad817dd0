package io.github.aggregator.config;

import io.github.aggregator.fetch.Jq;
import io.github.aggregator.source.InvalidField;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.composer.Composer;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.StreamReader;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * The YAML side of reading one config file: composes it into nodes that keep their line numbers, substitutes {@code
 * ${VAR}}s from the environment given, and turns every problem into a {@link ConfigException} that names the file,
 * line, source and field. The section readers build on it; it knows no section. Not thread-safe: one per file read.
 */
final class YamlReader {
    private static final Pattern VAR = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\\+)([^}]*))?}");
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KB|KiB|MB|MiB)?");

    private final String file;
    private final Map<String, String> env;

    YamlReader(String file, Map<String, String> env) {
        this.file = file;
        this.env = env;
    }

    String file() {
        return file;
    }

    Map<String, String> env() {
        return env;
    }

    /**
     * The root node of {@code file}, null when it is empty.
     *
     * @throws ConfigException when it is unreadable or not YAML
     */
    Node compose(Path path) {
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            // a named pipe or a device would block the reader (and the watcher behind it) for good
            throw new ConfigException(file, 0, "cannot read config file: not a regular file");
        }
        String text;
        try {
            text = utf8(Files.readAllBytes(path));
        } catch (NoSuchFileException e) {
            throw new ConfigException(file, 0, "cannot read config file: no such file");
        } catch (AccessDeniedException e) {
            throw new ConfigException(file, 0, "cannot read config file: permission denied");
        } catch (IOException e) {
            throw new ConfigException(file, 0, "cannot read config file");
        }
        try {
            LoaderOptions options = new LoaderOptions();
            options.setAllowDuplicateKeys(false);
            options.setMaxAliasesForCollections(20);
            // what Yaml.compose does, without building the object constructor and representer that a Yaml instance
            // makes and composing never uses (a good part of the config read's time at start)
            return new Composer(
                            new ParserImpl(new StreamReader(new StringReader(text)), options), new Resolver(), options)
                    .getSingleNode();
        } catch (MarkedYAMLException e) {
            int line = e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1;
            String problem = e.getProblem() == null ? "syntax error" : e.getProblem();
            throw new ConfigException(file, line, "malformed YAML: " + oneLine(problem));
        } catch (YAMLException e) {
            throw new ConfigException(file, 0, "malformed YAML: " + oneLine(String.valueOf(e.getMessage())));
        }
    }

    /** {@code bytes} as UTF-8 text; a byte sequence that is not UTF-8 is an error naming its offset. */
    private String utf8(byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isError()) {
            throw new ConfigException(file, 0, "not UTF-8 text at byte " + in.position());
        }
        decoder.flush(out);
        return out.flip().toString();
    }

    static String oneLine(String s) {
        return s.replaceAll("\\s+", " ").trim();
    }

    /** A record refused a value: the error at the line of its field in {@code fields} (else {@code fallback}). */
    ConfigException refused(InvalidField e, Map<String, NodeTuple> fields, Node fallback, String id, String prefix) {
        String field = e.field();
        NodeTuple t = fields.get(field.substring(field.lastIndexOf('.') + 1));
        if (t == null) {
            t = fields.get(field.split("\\.", 2)[0]);
        }
        return fail(line(t == null ? fallback : t.getValueNode()), id, prefix + field, e.reason());
    }

    static <E extends Enum<E>> E choice(Class<E> type, String value) {
        String v = value.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(v)) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        }
        throw new IllegalArgumentException("\"" + value + "\" is not one of " + String.join(", ", names));
    }

    <T> T scalar(Map<String, NodeTuple> fields, String key, String id, Function<String, T> parse, T dflt) {
        NodeTuple t = fields.get(key);
        if (t == null) {
            return dflt;
        }
        Node v = t.getValueNode();
        if (!(v instanceof ScalarNode s)) {
            throw fail(line(v), id, key, "must be a single value, not a list or mapping");
        }
        String text = substitute(s.getValue(), line(v), id, key);
        try {
            return parse.apply(text);
        } catch (NumberFormatException e) {
            throw fail(line(v), id, key, "\"" + text + "\" is not a whole number");
        } catch (IllegalArgumentException e) {
            throw fail(line(v), id, key, e.getMessage());
        }
    }

    String substitute(String value, int line, String id, String field) {
        Matcher m = VAR.matcher(value);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String set = env.get(m.group(1));
            boolean present = set != null && !set.isEmpty();
            String replacement;
            if (":-".equals(m.group(2))) {
                replacement = present ? set : m.group(3);
            } else if (":+".equals(m.group(2))) {
                replacement = present ? m.group(3) : "";
            } else if (set != null) {
                replacement = set;
            } else {
                throw fail(line, id, field, "environment variable " + m.group(1) + " is not set");
            }
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    Map<String, NodeTuple> mapping(Node node, String id, String what, Set<String> known) {
        if (!(node instanceof MappingNode m)) {
            throw fail(line(node), id, what, "must be a mapping");
        }
        unique(m, id, "");
        Map<String, NodeTuple> out = new LinkedHashMap<>();
        for (NodeTuple t : m.getValue()) {
            String key = keyOf(t);
            if (!known.contains(key)) {
                throw fail(
                        line(t.getKeyNode()),
                        id,
                        key,
                        "unknown field in " + what + " (known: " + String.join(", ", sorted(known)) + ")");
            }
            out.put(key, t);
        }
        return out;
    }

    String rawScalar(MappingNode node, String key) {
        for (NodeTuple t : node.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) {
                if (t.getValueNode() instanceof ScalarNode v) {
                    return v.getValue();
                }
                throw fail(line(t.getValueNode()), null, key, "must be a string");
            }
        }
        return null;
    }

    String keyOf(NodeTuple t) {
        if (t.getKeyNode() instanceof ScalarNode k) {
            return k.getValue();
        }
        throw fail(line(t.getKeyNode()), null, "key", "keys must be plain strings");
    }

    /**
     * Puts every scalar under {@code node} into {@code out} by dotted key (lists by index), variables substituted, and
     * returns the same values as a tree of maps, lists and strings.
     */
    Object flatten(Node node, String prefix, Map<String, String> out) {
        if (node instanceof ScalarNode s) {
            String value = substitute(s.getValue(), line(s), null, prefix);
            out.put(prefix, value);
            return value;
        } else if (node instanceof MappingNode m) {
            unique(m, null, prefix + ".");
            Map<String, Object> tree = new LinkedHashMap<>();
            for (NodeTuple t : m.getValue()) {
                tree.put(keyOf(t), flatten(t.getValueNode(), prefix + "." + keyOf(t), out));
            }
            return tree;
        } else if (node instanceof SequenceNode seq) {
            List<Object> tree = new ArrayList<>();
            for (int i = 0; i < seq.getValue().size(); i++) {
                tree.add(flatten(seq.getValue().get(i), prefix + "." + i, out));
            }
            return tree;
        }
        return null;
    }

    /** True when a scalar under {@code node} refers to an unset variable with plain {@code ${VAR}}. */
    boolean usesUnsetVariable(Node node) {
        if (node instanceof ScalarNode s) {
            Matcher m = VAR.matcher(s.getValue());
            while (m.find()) {
                if (m.group(2) == null && !env.containsKey(m.group(1))) {
                    return true;
                }
            }
            return false;
        }
        if (node instanceof MappingNode m) {
            return m.getValue().stream().anyMatch(t -> usesUnsetVariable(t.getValueNode()));
        }
        if (node instanceof SequenceNode seq) {
            return seq.getValue().stream().anyMatch(this::usesUnsetVariable);
        }
        return false;
    }

    /**
     * SnakeYAML's duplicate-key check runs only when constructing objects, not in {@code compose}. Header names
     * are compared without case, as HTTP does.
     */
    void unique(MappingNode m, String id, String prefix) {
        Set<String> seen = new HashSet<>();
        for (NodeTuple t : m.getValue()) {
            String key = keyOf(t);
            if (!seen.add(prefix.equals("headers.") ? key.toLowerCase(Locale.ROOT) : key)) {
                throw fail(line(t.getKeyNode()), id, prefix + key, "is given more than once");
            }
        }
    }

    ConfigException fail(int line, String id, String field, String reason) {
        return new ConfigException(file, line, id, field, oneLine(reason));
    }

    static int line(Node node) {
        return node == null || node.getStartMark() == null
                ? 0
                : node.getStartMark().getLine() + 1;
    }

    /** {@code v} when it compiles as jq; the compiled form is kept for the fetches (compiled once per text). */
    static String jq(String v) {
        Jq.of(v);
        return v;
    }

    static boolean bool(String v) {
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off", "" -> false;
            default -> throw new IllegalArgumentException("\"" + v + "\" is not true or false");
        };
    }

    static long size(String v) {
        Matcher m = SIZE.matcher(v.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("\"" + v + "\" is not a size (use bytes or a unit: 512KiB, 5MiB, 1MB)");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2);
        try {
            return switch (unit) {
                case "KB" -> Math.multiplyExact(n, 1000);
                case "KiB" -> Math.multiplyExact(n, 1024);
                case "MB" -> Math.multiplyExact(n, 1000_000);
                case "MiB" -> Math.multiplyExact(n, 1024 * 1024);
                default -> n;
            };
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("\"" + v + "\" is too large");
        }
    }

    private static List<String> sorted(Set<String> keys) {
        return keys.stream().sorted().toList();
    }

    static boolean hasKey(MappingNode node, String key) {
        return node.getValue().stream()
                .anyMatch(t ->
                        t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key));
    }
}
