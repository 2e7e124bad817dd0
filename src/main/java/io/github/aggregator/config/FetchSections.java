package io.github.aggregator.config;

import io.github.aggregator.source.AuthConfig;
import io.github.aggregator.source.InvalidField;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;

/**
 * Reads what a source needs to be a careful API client: its {@code auth}. Messages follow {@link YamlReader}'s
 * one-line form and never contain a secret.
 */
final class FetchSections {
    static final Set<String> AUTH_KEYS = Set.of("oauth2", "bearerFile", "basic");
    static final Set<String> OAUTH2_KEYS =
            Set.of("tokenUrl", "clientId", "clientSecret", "scope", "audience", "clientAuth");
    static final Set<String> BASIC_KEYS = Set.of("user", "password");

    private FetchSections() {}

    /** The {@code auth} field of source {@code id} (exactly one kind), or null when it is absent or empty. */
    static AuthConfig auth(YamlReader r, NodeTuple tuple, String id, Map<String, String> headers) {
        if (tuple == null) {
            return null;
        }
        Node node = tuple.getValueNode();
        if (node instanceof ScalarNode s && s.getValue().isEmpty()) {
            return null; // "auth:" with nothing under it: none
        }
        int line = YamlReader.line(node);
        Map<String, NodeTuple> fields = r.mapping(node, id, "auth", AUTH_KEYS);
        if (fields.size() != 1) {
            throw r.fail(line, id, "auth", "must have exactly one of basic, bearerFile, oauth2");
        }
        if (headers.keySet().stream().anyMatch(h -> h.equalsIgnoreCase("Authorization"))) {
            throw r.fail(line, id, "auth", "cannot be used together with an Authorization header");
        }
        String kind = fields.keySet().iterator().next();
        Node value = fields.get(kind).getValueNode();
        int valueLine = YamlReader.line(value);
        try {
            return switch (kind) {
                case "bearerFile" -> {
                    String file = r.scalar(fields, "bearerFile", id, v -> v, null);
                    try {
                        yield new AuthConfig.BearerFile(Path.of(file.trim()));
                    } catch (InvalidPathException e) {
                        throw new InvalidField("auth.bearerFile", "is not a file path");
                    }
                }
                case "basic" -> {
                    Map<String, NodeTuple> b = r.mapping(value, id, "auth.basic", BASIC_KEYS);
                    yield new AuthConfig.Basic(
                            r.scalar(b, "user", id, v -> v, null), r.scalar(b, "password", id, v -> v, null));
                }
                default -> {
                    Map<String, NodeTuple> o = r.mapping(value, id, "auth.oauth2", OAUTH2_KEYS);
                    String url = r.scalar(o, "tokenUrl", id, v -> v, null);
                    URI tokenUrl;
                    try {
                        tokenUrl = url == null ? null : new URI(url.trim());
                    } catch (URISyntaxException e) {
                        throw new InvalidField("auth.oauth2.tokenUrl", "is not a valid URL");
                    }
                    yield new AuthConfig.OAuth2(
                            tokenUrl,
                            r.scalar(o, "clientId", id, v -> v, null),
                            r.scalar(o, "clientSecret", id, v -> v, null),
                            r.scalar(o, "scope", id, v -> v, null),
                            r.scalar(o, "audience", id, v -> v, null),
                            r.scalar(
                                    o, "clientAuth", id, v -> YamlReader.choice(AuthConfig.ClientAuth.class, v), null));
                }
            };
        } catch (InvalidField e) {
            throw r.fail(valueLine, id, e.field(), e.reason());
        }
    }
}
