package io.github.aggregator.config;

import io.github.aggregator.source.AccessConfig;
import io.github.aggregator.source.AggregatorConfig;
import io.github.aggregator.source.CorsConfig;
import io.github.aggregator.source.Durations;
import io.github.aggregator.source.InstanceId;
import io.github.aggregator.source.InvalidField;
import io.github.aggregator.source.Scope;
import io.github.aggregator.source.SourceConfig;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * Reads the {@code access} and {@code cors} sections of the config file, and checks that every source marked {@code
 * access: token} can be read by some credential. Messages follow {@link YamlReader}'s one-line form and never contain a
 * key, secret or token.
 */
final class AccessSections {
    static final Set<String> ACCESS_KEYS = Set.of("keys", "jwt", "cookie", "queryParameter");
    static final Set<String> KEY_KEYS = Set.of("key", "sources");
    static final Set<String> JWT_KEYS =
            Set.of("hs256Secret", "rs256PublicKey", "claim", "issuer", "audience", "leeway");
    static final Set<String> CORS_KEYS = Set.of("allowedOrigins", "allowCredentials", "maxAge");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-fA-F]{64}");
    private static final String PEM_BEGIN = "-----BEGIN PUBLIC KEY-----";
    private static final String PEM_END = "-----END PUBLIC KEY-----";

    private AccessSections() {}

    /** The {@code access} section ({@code node} null when absent), checked against the sources and the admin token. */
    static AccessConfig access(
            YamlReader r, Node node, AggregatorConfig aggregator, Node aggregatorNode, String adminToken) {
        AccessConfig access = empty(node) ? AccessConfig.NONE : parseAccess(r, node, aggregator, adminToken);
        checkSources(r, access, aggregator, aggregatorNode);
        return access;
    }

    private static AccessConfig parseAccess(YamlReader r, Node node, AggregatorConfig aggregator, String adminToken) {
        Map<String, NodeTuple> fields = r.mapping(node, null, "access", ACCESS_KEYS);
        List<AccessConfig.Key> keys = new ArrayList<>();
        if (fields.containsKey("keys") && !empty(fields.get("keys").getValueNode())) {
            Node list = fields.get("keys").getValueNode();
            if (!(list instanceof SequenceNode seq)) {
                throw r.fail(YamlReader.line(list), null, "access.keys", "must be a list of {key, sources}");
            }
            Set<String> ids = new HashSet<>();
            aggregator.sources().forEach(s -> ids.add(s.id()));
            byte[] admin = adminToken == null ? null : sha256(adminToken);
            for (int i = 0; i < seq.getValue().size(); i++) {
                AccessConfig.Key key = key(r, seq.getValue().get(i), "access.keys[" + i + "]", ids);
                for (int j = 0; j < keys.size(); j++) {
                    if (MessageDigest.isEqual(keys.get(j).sha256(), key.sha256())) {
                        throw r.fail(
                                YamlReader.line(seq.getValue().get(i)),
                                null,
                                "access.keys[" + i + "].key",
                                "is the same key as access.keys[" + j + "]");
                    }
                }
                if (admin != null && MessageDigest.isEqual(admin, key.sha256())) {
                    throw r.fail(
                            YamlReader.line(seq.getValue().get(i)),
                            null,
                            "access.keys[" + i + "].key",
                            "is the admin token; the admin token must not also read sources");
                }
                keys.add(key);
            }
        }
        AccessConfig.Jwt jwt = null;
        if (fields.containsKey("jwt") && !empty(fields.get("jwt").getValueNode())) {
            jwt = jwt(r, fields.get("jwt").getValueNode());
        }
        String cookie = value(r, fields, "cookie", "access.cookie", v -> v, AccessConfig.DEFAULT_COOKIE);
        String query = value(
                r, fields, "queryParameter", "access.queryParameter", v -> v, AccessConfig.DEFAULT_QUERY_PARAMETER);
        try {
            return new AccessConfig(
                    keys, jwt, cookie.isBlank() ? null : cookie.trim(), query.isBlank() ? null : query.trim());
        } catch (InvalidField e) {
            throw r.refused(e, fields, node, null, "");
        }
    }

    private static AccessConfig.Key key(YamlReader r, Node node, String field, Set<String> ids) {
        Map<String, NodeTuple> fields = r.mapping(node, null, field, KEY_KEYS);
        if (!fields.containsKey("key")) {
            throw r.fail(YamlReader.line(node), null, field + ".key", "is required");
        }
        if (!fields.containsKey("sources")) {
            throw r.fail(YamlReader.line(node), null, field + ".sources", "is required (source ids or \"*\")");
        }
        byte[] digest = value(r, fields, "key", field + ".key", AccessSections::keyDigest, null);
        return new AccessConfig.Key(digest, scope(r, fields.get("sources").getValueNode(), field + ".sources", ids));
    }

    /** {@code sha256:<64 hex digits>} as given, or the digest of a plain key. Never echoes the value. */
    private static byte[] keyDigest(String value) {
        String v = value.trim();
        if (v.regionMatches(true, 0, "sha256:", 0, 7)) {
            Matcher m = SHA256.matcher(v.substring(7));
            if (!m.matches()) {
                throw new IllegalArgumentException("sha256: must be followed by 64 hex digits (the key's SHA-256)");
            }
            return HexFormat.of().parseHex(v.substring(7));
        }
        if (v.length() < AccessConfig.MIN_KEY_LENGTH || !v.matches("[\\x21-\\x7e]+")) {
            throw new IllegalArgumentException("must be at least " + AccessConfig.MIN_KEY_LENGTH
                    + " printable characters without spaces, or sha256:<64 hex digits>");
        }
        return sha256(v);
    }

    private static Scope scope(YamlReader r, Node node, String field, Set<String> ids) {
        List<Node> items = node instanceof SequenceNode seq ? seq.getValue() : List.of(node);
        if (items.isEmpty()) {
            throw r.fail(YamlReader.line(node), null, field, "must list source ids or be \"*\"");
        }
        Set<String> granted = new HashSet<>();
        for (Node item : items) {
            if (!(item instanceof ScalarNode s)) {
                throw r.fail(YamlReader.line(item), null, field, "must be a list of source ids or \"*\"");
            }
            String id = r.substitute(s.getValue(), YamlReader.line(item), null, field)
                    .trim();
            if (id.equals("*")) {
                return Scope.everything();
            }
            if (!ids.contains(id)) {
                throw r.fail(
                        YamlReader.line(item),
                        null,
                        field,
                        "\"" + (id.length() > 64 ? id.substring(0, 64) + "…" : id) + "\" is not a configured source");
            }
            granted.add(id);
        }
        return new Scope(false, granted);
    }

    private static AccessConfig.Jwt jwt(YamlReader r, Node node) {
        Map<String, NodeTuple> fields = r.mapping(node, null, "access.jwt", JWT_KEYS);
        try {
            return new AccessConfig.Jwt(
                    value(
                            r,
                            fields,
                            "hs256Secret",
                            "access.jwt.hs256Secret",
                            v -> v.getBytes(StandardCharsets.UTF_8),
                            null),
                    value(r, fields, "rs256PublicKey", "access.jwt.rs256PublicKey", AccessSections::rsaPublicKey, null),
                    value(r, fields, "claim", "access.jwt.claim", v -> v, null),
                    value(r, fields, "issuer", "access.jwt.issuer", v -> v, null),
                    value(r, fields, "audience", "access.jwt.audience", v -> v, null),
                    value(r, fields, "leeway", "access.jwt.leeway", Durations::parse, null));
        } catch (InvalidField e) {
            throw r.refused(e, fields, node, null, "");
        }
    }

    /** An RSA public key from PEM ({@code -----BEGIN PUBLIC KEY-----}, as {@code openssl rsa -pubout} writes it). */
    static RSAPublicKey rsaPublicKey(String pem) {
        String text = pem.trim();
        if (text.contains("PRIVATE KEY")) {
            // never echo it: a private key in the config is a leak in itself
            throw new IllegalArgumentException("is a private key; give the public key (openssl rsa -pubout)");
        }
        int begin = text.indexOf(PEM_BEGIN);
        int end = text.indexOf(PEM_END);
        if (begin != 0 || end < 0) {
            throw new IllegalArgumentException("is not a PEM public key (" + PEM_BEGIN + " ... " + PEM_END + ")");
        }
        try {
            byte[] der = Base64.getMimeDecoder()
                    .decode(text.substring(PEM_BEGIN.length(), end).replaceAll("\\s", ""));
            if (KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(der)) instanceof RSAPublicKey k) {
                return k;
            }
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            // refused below
        }
        throw new IllegalArgumentException("is not a valid RSA public key in PEM form");
    }

    /** The {@code cors} section ({@code node} null when absent). */
    static CorsConfig cors(YamlReader r, Node node) {
        if (empty(node)) {
            return CorsConfig.NONE;
        }
        Map<String, NodeTuple> fields = r.mapping(node, null, "cors", CORS_KEYS);
        List<String> origins = new ArrayList<>();
        if (fields.containsKey("allowedOrigins")
                && !empty(fields.get("allowedOrigins").getValueNode())) {
            Node list = fields.get("allowedOrigins").getValueNode();
            for (Node item : list instanceof SequenceNode seq ? seq.getValue() : List.of(list)) {
                if (!(item instanceof ScalarNode s)) {
                    throw r.fail(YamlReader.line(item), null, "cors.allowedOrigins", "must be a list of origins");
                }
                String origin = r.substitute(s.getValue(), YamlReader.line(item), null, "cors.allowedOrigins");
                try {
                    origins.add(CorsConfig.normalize(origin));
                } catch (IllegalArgumentException e) {
                    throw r.fail(YamlReader.line(item), null, "cors.allowedOrigins", reason(e));
                }
            }
        }
        boolean credentials = value(r, fields, "allowCredentials", "cors.allowCredentials", YamlReader::bool, false);
        if (credentials && !origins.isEmpty() && origins.stream().allMatch("*"::equals)) {
            throw r.fail(
                    YamlReader.line(fields.get("allowCredentials").getValueNode()),
                    null,
                    "cors.allowCredentials",
                    "credentials are never allowed for \"*\"; list the origins that may send them");
        }
        try {
            return new CorsConfig(
                    origins, credentials, value(r, fields, "maxAge", "cors.maxAge", Durations::parse, null));
        } catch (InvalidField e) {
            throw r.refused(e, fields, node, null, "");
        }
    }

    /**
     * Every enabled token source can be read by some credential, and no public combined source gives away the data of
     * a token part.
     */
    private static void checkSources(
            YamlReader r, AccessConfig access, AggregatorConfig aggregator, Node aggregatorNode) {
        for (SourceConfig s : aggregator.enabledSources()) {
            if (s.access() == SourceConfig.Access.TOKEN && !access.enabled()) {
                throw r.fail(
                        sourceLine(aggregatorNode, s.id()),
                        s.id(),
                        "access",
                        "is token, but the access section lists no keys and no jwt, so nobody could read it");
            }
            if (s.access() == SourceConfig.Access.PUBLIC) {
                for (String part : s.combine()) {
                    String base = InstanceId.base(part); // an instance's access is its template's
                    boolean secret = aggregator.sources().stream()
                                    .anyMatch(p -> p.id().equals(base) && p.access() == SourceConfig.Access.TOKEN)
                            || aggregator.templates().stream()
                                    .anyMatch(
                                            t -> t.id().equals(base) && t.base().access() == SourceConfig.Access.TOKEN);
                    if (secret) {
                        throw r.fail(
                                sourceLine(aggregatorNode, s.id()),
                                s.id(),
                                "access",
                                "is public, but its part \"" + part + "\" needs a token; set access: token");
                    }
                }
            }
        }
    }

    /** The line of source {@code id}'s {@code access} field, else of the source itself. */
    private static int sourceLine(Node aggregatorNode, String id) {
        if (!(aggregatorNode instanceof MappingNode agg)) {
            return YamlReader.line(aggregatorNode);
        }
        for (NodeTuple t : agg.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k
                    && k.getValue().equals("sources")
                    && t.getValueNode() instanceof SequenceNode seq) {
                for (Node item : seq.getValue()) {
                    if (item instanceof MappingNode m && id.equals(field(m, "id"))) {
                        Node access = fieldNode(m, "access");
                        return YamlReader.line(access == null ? item : access);
                    }
                }
            }
        }
        return YamlReader.line(aggregatorNode);
    }

    private static String field(MappingNode m, String key) {
        return fieldNode(m, key) instanceof ScalarNode s ? s.getValue() : null;
    }

    private static Node fieldNode(MappingNode m, String key) {
        for (NodeTuple t : m.getValue()) {
            if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) {
                return t.getValueNode();
            }
        }
        return null;
    }

    /** A scalar field parsed by {@code parse}, named {@code field} in messages; {@code dflt} when absent. */
    private static <T> T value(
            YamlReader r, Map<String, NodeTuple> fields, String key, String field, Function<String, T> parse, T dflt) {
        NodeTuple t = fields.get(key);
        if (t == null) {
            return dflt;
        }
        Node v = t.getValueNode();
        int line = YamlReader.line(v);
        if (!(v instanceof ScalarNode s)) {
            throw r.fail(line, null, field, "must be a single value, not a list or mapping");
        }
        String text = r.substitute(s.getValue(), line, null, field);
        try {
            return parse.apply(text);
        } catch (IllegalArgumentException e) {
            throw r.fail(line, null, field, reason(e));
        }
    }

    /** The reason of a parse failure, without the field name a record's {@link InvalidField} carries. */
    private static String reason(IllegalArgumentException e) {
        return e instanceof InvalidField f ? f.reason() : String.valueOf(e.getMessage());
    }

    private static boolean empty(Node node) {
        return node == null || (node instanceof ScalarNode s && s.getValue().isEmpty());
    }

    static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
