package io.github.aggregator.source;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parametrised source: one definition whose URL has {@code {name}} placeholders in its path or query, each with a
 * {@link ParamRule}. Every allowed set of values is one instance, a source of its own named {@link InstanceId
 * weather(city=NYC)}, polled on demand. Immutable.
 *
 * @param base every other setting; its id is the template's, its URL the template's with each placeholder as {@code x}
 * @param url the URL as written, with its placeholders
 * @param params one rule per placeholder, in name order
 * @param maxKeys instances kept at once, live or idle (default 100); beyond it the least recently used idle one goes,
 *     and while all are live a new one is refused
 */
public record SourceTemplate(SourceConfig base, String url, List<ParamRule> params, int maxKeys) {
    public static final int DEFAULT_MAX_KEYS = 100;
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^{}]*)}");

    /** How a request's parameters resolve: one instance, or refused naming the parameter. */
    public sealed interface Resolution {}

    /** The instance named by the parameters: its canonical id, its parameters and its config. */
    public record Instance(String id, SortedMap<String, String> params, SourceConfig config) implements Resolution {}

    /** Refused: {@code param} is the parameter at fault; {@code reason} says why in one line. */
    public record Refused(String param, String reason) implements Resolution {}

    public SourceTemplate {
        params = List.copyOf(params);
        Set<String> names = placeholders(url);
        for (ParamRule p : params) {
            if (!names.contains(p.name())) {
                throw new InvalidField("params." + p.name(), "has no {" + p.name() + "} placeholder in the url");
            }
        }
        for (String n : names) {
            if (params.stream().noneMatch(p -> p.name().equals(n))) {
                throw new InvalidField("url", "placeholder {" + n + "} has no entry under params");
            }
        }
        if (maxKeys < 1 || maxKeys > 100_000) {
            throw new InvalidField("maxKeys", "must be between 1 and 100000");
        }
    }

    /** The template's id. */
    public String id() {
        return base.id();
    }

    /**
     * The placeholder names of {@code url} in order of appearance.
     *
     * @throws InvalidField ({@code url}) when a brace is unmatched, a name is malformed, or a placeholder stands
     *     outside the path and query
     */
    public static Set<String> placeholders(String url) {
        Set<String> names = new LinkedHashSet<>();
        Matcher m = PLACEHOLDER.matcher(url);
        int pathStart = pathStart(url);
        int fragment = url.indexOf('#');
        while (m.find()) {
            String name = m.group(1);
            if (!ParamRule.NAME.matcher(name).matches()) {
                throw new InvalidField("url", "placeholder {" + name + "} must be named [A-Za-z][A-Za-z0-9_]*");
            }
            if (m.start() < pathStart || (fragment >= 0 && m.start() > fragment)) {
                throw new InvalidField("url", "placeholder {" + name + "} may stand only in the path or the query");
            }
            names.add(name);
        }
        String rest = m.replaceAll("");
        if (rest.indexOf('{') >= 0 || rest.indexOf('}') >= 0) {
            throw new InvalidField("url", "has an unmatched { or }");
        }
        return names;
    }

    /** Where the path begins: after {@code scheme://authority}, or 0 for a URL that is a path. */
    private static int pathStart(String url) {
        int scheme = url.indexOf("://");
        if (scheme < 0) {
            return 0;
        }
        int i = scheme + 3;
        while (i < url.length() && "/?#".indexOf(url.charAt(i)) < 0) {
            i++;
        }
        return i;
    }

    /** {@code url} with every placeholder as {@code x}: what the base config is checked with. */
    public static String sample(String url) {
        return PLACEHOLDER.matcher(url).replaceAll("x");
    }

    /**
     * The instance that {@code given} names: each parameter given checked against its rule, each missing one taken
     * from its default. Every value is percent-encoded into its place, so none can change the host, the path's
     * segments or the query's parameters.
     */
    public Resolution resolve(Map<String, String> given) {
        for (String name : given.keySet()) {
            if (params.stream().noneMatch(p -> p.name().equals(name))) {
                return new Refused(name, "unknown parameter \"" + shorten(name) + "\" for source \"" + id() + "\"");
            }
        }
        SortedMap<String, String> values = new TreeMap<>();
        for (ParamRule p : params) {
            String v = given.get(p.name());
            if (v == null) {
                if (p.dflt() == null) {
                    return new Refused(p.name(), "parameter \"" + p.name() + "\" is required");
                }
                v = p.dflt();
            }
            String why = p.refusal(v);
            if (why != null) {
                return new Refused(p.name(), why);
            }
            values.put(p.name(), v);
        }
        StringBuilder out = new StringBuilder();
        Matcher m = PLACEHOLDER.matcher(url);
        int pathStart = pathStart(url);
        int query = url.indexOf('?', pathStart);
        int last = 0;
        while (m.find()) {
            String v = values.get(m.group(1));
            boolean inPath = query < 0 || m.start() < query;
            if (inPath && (v.equals(".") || v.equals(".."))) {
                return new Refused(m.group(1), "parameter \"" + m.group(1) + "\" must not be \".\" or \"..\"");
            }
            out.append(url, last, m.start()).append(InstanceId.encode(v));
            last = m.end();
        }
        out.append(url, last, url.length());
        URI uri;
        try {
            uri = new URI(out.toString());
        } catch (URISyntaxException e) {
            return new Refused(params.get(0).name(), "the parameters do not form a valid URL");
        }
        String id = InstanceId.of(id(), values);
        return new Instance(id, values, base.forInstance(id, uri));
    }

    private static String shorten(String s) {
        String one = s.replaceAll("[\\p{Cntrl}]", "?");
        return one.length() > 64 ? one.substring(0, 64) + "..." : one;
    }
}
