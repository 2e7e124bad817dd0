package io.github.aggregator.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.aggregator.testing.ConfigSchema;
import io.github.aggregator.testing.Service;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The deployment descriptors in functions/ and the Dockerfile name what the service really uses: its port, the
 * environment variables it reads, health paths that answer, the jar and AOT cache the image contains, and command
 * modes that Main accepts. Each descriptor must be plain YAML (CloudFormation intrinsics in their long form). The
 * Kubernetes Deployment, Service and ConfigMap fit together, the ConfigMap holds a config the service accepts, and the
 * image runs as the non-root user the Deployment requires.
 */
class FunctionsTest {
    private static final Path FUNCTIONS = Path.of("functions");
    private static final List<String> DESCRIPTORS = List.of(
            "knative/service.yaml",
            "cloudrun/service.yaml",
            "lambda/template.yaml",
            "kubernetes/cronjob.yaml",
            "kubernetes/deployment.yaml",
            "kubernetes/service.yaml",
            "kubernetes/configmap.yaml");
    /** Variables that the platform's own machinery (the Lambda Web Adapter, the JVM) reads, not the service. */
    private static final Pattern PLATFORM_ENV = Pattern.compile("AWS_LWA_[A-Z_]+|JAVA_TOOL_OPTIONS");
    /** The JIT thresholds every shipped start uses (bin/run, the image, the descriptors; bench/startup.sh reads it). */
    private static final String JIT_FLAG = "-XX:CompileThresholdScaling=4";

    private static final Map<String, Object> docs = new LinkedHashMap<>();
    private static String dockerfile;

    @BeforeAll
    static void load() throws IOException {
        assertTrue(Files.isDirectory(FUNCTIONS), "run from the repository root: no " + FUNCTIONS.toAbsolutePath());
        try (Stream<Path> files = Files.walk(FUNCTIONS)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".yaml")).toList()) {
                String name = FUNCTIONS.relativize(p).toString().replace('\\', '/');
                // SafeConstructor refuses unknown tags such as !Ref: the file must be plain YAML
                Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
                docs.put(name, yaml.load(Files.readString(p)));
            }
        }
        dockerfile = Files.readString(Path.of("Dockerfile"));
    }

    @Test
    void binRunStartsWithTheJitThresholdsTheImageUses() throws IOException {
        String run = Files.readString(Path.of("bin/run"));
        Matcher exec =
                Pattern.compile("(?m)^exec .*-jar target/aggregator\\.jar.*$").matcher(run);
        assertTrue(exec.find(), "bin/run execs the jar");
        assertTrue(exec.group().contains(" " + JIT_FLAG + " "), "bin/run starts with " + JIT_FLAG);
    }

    @Test
    void everyDescriptorIsPlainYamlAndDocumented() throws IOException {
        assertEquals(new TreeSet<>(DESCRIPTORS), new TreeSet<>(docs.keySet()), "descriptors in functions/");
        String readme = Files.readString(FUNCTIONS.resolve("README.md"));
        for (String d : DESCRIPTORS) {
            assertTrue(readme.contains(d), "functions/README.md does not explain " + d);
        }
        assertFalse(
                Files.readString(FUNCTIONS.resolve("lambda/template.yaml")).contains("!"),
                "short-form intrinsics (!Ref, !GetAtt) need a CloudFormation-aware parser");
    }

    @Test
    void portsAreThePortTheServiceListensOn() {
        String port = defaultPort();
        assertEquals("8080", port, "the shipped config's port");
        assertEquals(
                "9999",
                ConfigSchema.load(Path.of(Main.DEFAULT_CONFIG), Map.of("PORT", "9999"))
                        .server()
                        .get("server.port"),
                "PORT overrides it");
        for (Container c : containers()) {
            if (c.command().contains("refresh")) {
                continue; // a one-shot run listens on nothing
            }
            assertEquals(List.of(Integer.parseInt(port)), c.ports(), c.where() + ": containerPort");
            if (c.env().containsKey("PORT")) {
                assertEquals(port, c.env().get("PORT"), c.where() + ": PORT");
            }
        }
        Map<String, Object> lambda = lambdaVariables();
        assertEquals(port, lambda.get("AWS_LWA_PORT"), "the adapter's port");
        assertEquals(port, lambda.get("PORT"), "the service's port on Lambda");
        assertTrue(dockerfile.contains("\nEXPOSE " + port + "\n"), "the Dockerfile exposes " + port);
    }

    @Test
    void environmentVariablesAreOnesTheServiceReads() throws IOException {
        Set<String> read = variablesReadByTheCode();
        for (String v : List.of("PORT", "AGGREGATOR_CONFIG", "AGGREGATOR_ADMIN_TOKEN", "REDIS_URL")) {
            assertTrue(read.contains(v), v + " is not read anywhere in src/main/java: " + read);
        }
        Set<String> fromConfig = variablesInShippedConfig();
        List<String> named = new ArrayList<>();
        containers().forEach(c -> c.env().keySet().forEach(k -> named.add(c.where() + " " + k)));
        lambdaVariables().keySet().forEach(k -> named.add("lambda/template.yaml " + k));
        assertFalse(named.isEmpty());
        for (String n : named) {
            String var = n.substring(n.lastIndexOf(' ') + 1);
            assertTrue(
                    read.contains(var)
                            || fromConfig.contains(var)
                            || PLATFORM_ENV.matcher(var).matches(),
                    n + ": the service does not read " + var);
        }
        assertEquals("response_stream", lambdaVariables().get("AWS_LWA_INVOKE_MODE"));
        for (Container c : containers()) {
            String config = c.env().get("AGGREGATOR_CONFIG");
            if (config != null) {
                assertTrue(
                        c.mounts().stream().anyMatch(config::startsWith), c.where() + ": " + config + " not mounted");
            }
        }
        // the image has the shipped config under /app/config, which Lambda uses
        assertTrue(dockerfile.contains("COPY config /app/config"));
        assertEquals("/app/config/application.yaml", lambdaVariables().get("AGGREGATOR_CONFIG"));
    }

    @Test
    void healthPathsAnswerOnTheRealService() {
        List<String> paths = new ArrayList<>();
        containers().forEach(c -> paths.addAll(c.probePaths()));
        paths.add((String) lambdaVariables().get("AWS_LWA_READINESS_CHECK_PATH"));
        assertTrue(paths.size() >= 5, "probes named: " + paths);
        try (Service svc = Service.start("""
                aggregator:
                  sources:
                    - id: clock
                      url: /demo/clock
                      interval: 1s
                """)) {
            for (String path : paths) {
                assertTrue(path.startsWith("/observe/health/"), path);
                HttpResponse<String> r = svc.get(path);
                assertEquals(200, r.statusCode(), path + ": " + r.body());
                assertTrue(r.body().startsWith("{\"status\":\"UP\""), path + ": " + r.body());
            }
        }
    }

    @Test
    void commandsRunTheImagesJarWithCommandModesMainAccepts() {
        Matcher copy = Pattern.compile("(?m)^COPY --from=build \\S+\\.jar (\\S+\\.jar)$")
                .matcher(dockerfile);
        assertTrue(copy.find(), "the Dockerfile copies the built jar");
        String jar = copy.group(1);
        Matcher aot = Pattern.compile("(?m)^RUN bin/aot --no-build --jar " + Pattern.quote(jar) + " --output (\\S+)")
                .matcher(dockerfile);
        assertTrue(aot.find(), "the Dockerfile makes the AOT cache of " + jar + " with bin/aot");
        assertTrue(Files.isExecutable(Path.of("bin/aot")));
        String cache = aot.group(1);
        Matcher entry = Pattern.compile("(?m)^ENTRYPOINT \\[(.*)]$").matcher(dockerfile);
        assertTrue(entry.find());
        List<String> entrypoint = Stream.of(entry.group(1).split(","))
                .map(s -> s.trim().replace("\"", ""))
                .toList();
        checkCommand("Dockerfile ENTRYPOINT", entrypoint, jar, cache, List.of());

        boolean refresh = false;
        for (Container c : containers()) {
            if (!c.command().isEmpty()) {
                checkCommand(c.where(), c.command(), jar, cache, c.mounts());
                refresh |= c.command().contains("refresh");
            }
            c.args().forEach(a -> assertTrue(a.startsWith("-") || Main.COMMANDS.contains(a), c.where() + ": " + a));
        }
        assertTrue(refresh, "the CronJob runs the refresh mode");
        Container cron = containers().stream()
                .filter(c -> c.where().startsWith("kubernetes/cronjob.yaml"))
                .findFirst()
                .orElseThrow();
        assertTrue(cron.env().containsKey("REDIS_URL"), "refresh works against the shared Redis");

        String help = help();
        Main.COMMANDS.forEach(cmd -> assertTrue(help.contains(cmd), "--help does not mention " + cmd + ": " + help));
    }

    @Test
    void platformSettingsSuitLongLivedStreams() {
        Map<String, Object> knative = spec("knative/service.yaml");
        assertTrue(((Number) knative.get("containerConcurrency")).intValue() > 0);
        assertTrue(((Number) knative.get("timeoutSeconds")).intValue() >= 300);
        assertEquals("0", annotations("knative/service.yaml").get("autoscaling.knative.dev/min-scale"));

        Map<String, Object> cloudRun = spec("cloudrun/service.yaml");
        int timeout = ((Number) cloudRun.get("timeoutSeconds")).intValue();
        assertTrue(timeout > 300 && timeout <= 3600, "Cloud Run allows up to 3600 s: " + timeout);
        assertTrue(((Number) cloudRun.get("containerConcurrency")).intValue() <= 1000);
        Map<String, Object> runAnnotations = annotations("cloudrun/service.yaml");
        assertTrue(runAnnotations.containsKey("run.googleapis.com/cpu-throttling"));
        assertTrue(runAnnotations.containsKey("autoscaling.knative.dev/minScale"));

        Map<String, Object> fn = lambdaFunction();
        assertEquals("Image", fn.get("PackageType"));
        assertTrue(((Number) fn.get("Timeout")).intValue() <= 900, "Lambda's maximum is 900 s");
        assertEquals("RESPONSE_STREAM", map(fn.get("FunctionUrlConfig")).get("InvokeMode"));
        assertEquals(Map.of("Ref", "ImageUri"), fn.get("ImageUri"));

        Map<String, Object> cron = map(docs.get("kubernetes/cronjob.yaml"));
        assertEquals("Forbid", map(cron.get("spec")).get("concurrencyPolicy"));
    }

    @Test
    void kubernetesDeploymentServiceAndConfigMapFitTogether() throws IOException {
        Map<String, Object> deployment = map(docs.get("kubernetes/deployment.yaml"));
        Map<String, Object> service = map(docs.get("kubernetes/service.yaml"));
        Map<String, Object> configMap = map(docs.get("kubernetes/configmap.yaml"));
        assertEquals("Deployment", deployment.get("kind"));
        assertEquals("Service", service.get("kind"));
        assertEquals("ConfigMap", configMap.get("kind"));

        Map<String, Object> spec = map(deployment.get("spec"));
        Map<String, Object> template = map(spec.get("template"));
        Map<String, Object> podLabels = map(map(template.get("metadata")).get("labels"));
        Map<String, Object> selector = map(map(spec.get("selector")).get("matchLabels"));
        assertTrue(podLabels.entrySet().containsAll(selector.entrySet()), "the Deployment selects its pods");
        Map<String, Object> serviceSpec = map(service.get("spec"));
        assertTrue(
                podLabels
                        .entrySet()
                        .containsAll(map(serviceSpec.get("selector")).entrySet()),
                "the Service selects the Deployment's pods");

        Map<String, Object> pod = map(template.get("spec"));
        Map<String, Object> c = map(list(pod.get("containers")).get(0));
        Container container = container("kubernetes/deployment.yaml", c);
        int port = Integer.parseInt(defaultPort());
        assertEquals(List.of(port), container.ports());
        for (Object p : list(serviceSpec.get("ports"))) {
            assertEquals(port, ((Number) map(p).get("targetPort")).intValue(), "the Service's targetPort");
        }
        assertEquals(
                "/observe/health/ready",
                map(map(c.get("readinessProbe")).get("httpGet")).get("path"));
        assertEquals(
                "/observe/health/live",
                map(map(c.get("livenessProbe")).get("httpGet")).get("path"));
        int replicas = ((Number) spec.get("replicas")).intValue();
        assertTrue(replicas == 1 || container.env().containsKey("REDIS_URL"), "several replicas need the cluster");

        // the config file: AGGREGATOR_CONFIG names a key of the ConfigMap, mounted whole (a subPath is never updated)
        Path config = Path.of(container.env().get("AGGREGATOR_CONFIG"));
        Map<String, Object> mount = null;
        for (Object m : list(c.get("volumeMounts"))) {
            if (config.getParent().toString().equals(map(m).get("mountPath"))) {
                mount = map(m);
            }
        }
        assertNotNull(mount, "no volume mounted at " + config.getParent());
        assertFalse(mount.containsKey("subPath"), "a subPath mount does not see ConfigMap updates: " + mount);
        Map<String, Object> volume = null;
        for (Object v : list(pod.get("volumes"))) {
            if (mount.get("name").equals(map(v).get("name"))) {
                volume = map(v);
            }
        }
        assertNotNull(volume, "no volume " + mount.get("name"));
        assertEquals(
                map(configMap.get("metadata")).get("name"),
                map(volume.get("configMap")).get("name"),
                "the volume is the ConfigMap");
        Object text = map(configMap.get("data")).get(config.getFileName().toString());
        assertTrue(text instanceof String, "the ConfigMap has no key " + config.getFileName());

        // which the service accepts as it is, listening on the container port beyond loopback
        Path file = Files.createTempDirectory("configmap").resolve(config.getFileName());
        Files.writeString(file, (String) text);
        var loaded = ConfigSchema.load(file, Map.of()); // and the config's JSON Schema accepts it too
        assertEquals(Integer.toString(port), loaded.server().get("server.port"));
        assertEquals("0.0.0.0", loaded.server().get("server.host"));
        assertFalse(loaded.aggregator().enabledSources().isEmpty(), "the ConfigMap's config polls something");

        // and the pod runs as the image's own non-root user
        Map<String, Object> security = map(pod.get("securityContext"));
        assertEquals(true, security.get("runAsNonRoot"));
        assertEquals(imageUser(), ((Number) security.get("runAsUser")).intValue(), "runAsUser is the image's user");
    }

    /**
     * Where each platform keeps the durable store: on a volume the container can write (a read-only root filesystem
     * would leave the service in memory), in Lambda's {@code /tmp}, or off ({@code ""}) where the file system is
     * memory that dies with the instance; the image's default directory belongs to the user it runs as. The one-shot
     * {@code refresh} mode opens no store.
     */
    @Test
    void theDurableStoreLivesWhereEachPlatformCanWrite() {
        for (Container c : containers()) {
            if (c.command().contains("refresh") || c.args().contains("refresh")) {
                continue;
            }
            assertTrue(c.env().containsKey("AGGREGATOR_DATA_DIR"), c.where() + " says where the store lives");
            String dir = c.env().get("AGGREGATOR_DATA_DIR");
            assertTrue(
                    dir.isEmpty()
                            || c.writableMounts().stream().anyMatch(m -> dir.equals(m) || dir.startsWith(m + "/")),
                    c.where() + ": AGGREGATOR_DATA_DIR " + dir + " is on none of its writable volumes "
                            + c.writableMounts());
        }
        assertEquals(
                "",
                containers().stream()
                        .filter(c -> c.where().startsWith("cloudrun/"))
                        .findFirst()
                        .orElseThrow()
                        .env()
                        .get("AGGREGATOR_DATA_DIR"),
                "Cloud Run's in-memory file system: the store is off");
        assertTrue(
                Pattern.compile("(?m)^\\s+AGGREGATOR_DATA_DIR: \\$\\{java\\.io\\.tmpdir}/")
                        .matcher(
                                Files.exists(FUNCTIONS.resolve("lambda/template.yaml"))
                                        ? read("lambda/template.yaml")
                                        : "")
                        .find(),
                "Lambda keeps the store in the JVM's temporary directory (its /tmp, the only writable place)");
        Matcher env = Pattern.compile("(?m)^ENV AGGREGATOR_DATA_DIR=(\\S+)$").matcher(dockerfile);
        assertTrue(env.find(), "the image names its data directory");
        assertTrue(
                dockerfile.contains("chown " + imageUser() + ":" + imageUser() + " " + env.group(1)),
                "the image's user owns " + env.group(1));
    }

    private static String read(String name) {
        try {
            return Files.readString(FUNCTIONS.resolve(name));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void theImageRunsAsANonRootUser() {
        int uid = imageUser();
        assertTrue(uid > 0, "the service stage's USER is not root: " + uid);
        assertTrue(
                Pattern.compile("useradd [^\\n]*--uid " + uid + "\\b")
                        .matcher(dockerfile)
                        .find(),
                "the Dockerfile creates user " + uid);
        // stages built on the service image (the Lambda one, the default) keep that user
        boolean after = false;
        for (String line : dockerfile.split("\n")) {
            if (line.startsWith("FROM ")) {
                after = line.matches("FROM service( AS \\S+)?");
            } else if (after && line.startsWith("USER ")) {
                fail("a stage built on the service image changes its user: " + line);
            }
        }
    }

    /** The numeric user the Dockerfile's {@code service} stage ends with (its last {@code USER}). */
    private static int imageUser() {
        int from = dockerfile.indexOf(" AS service\n");
        assertTrue(from > 0, "the Dockerfile has a service stage");
        int to = dockerfile.indexOf("\nFROM ", from);
        Matcher user = Pattern.compile("(?m)^USER (\\S+)$")
                .matcher(dockerfile.substring(from, to < 0 ? dockerfile.length() : to));
        String last = null;
        while (user.find()) {
            last = user.group(1);
        }
        assertNotNull(last, "the service stage sets no USER: it would run as root");
        assertTrue(last.matches("\\d+(:\\d+)?"), "numeric, so that runAsNonRoot can verify it: " + last);
        return Integer.parseInt(last.split(":")[0]);
    }

    // ---- descriptors ----------------------------------------------------------------------------------------------

    /** One container of a Kubernetes-style descriptor. */
    private record Container(
            String where,
            List<String> command,
            List<String> args,
            Map<String, String> env,
            List<Integer> ports,
            List<String> probePaths,
            List<String> mounts,
            List<String> writableMounts) {}

    private static List<Container> containers() {
        List<Container> out = new ArrayList<>();
        docs.forEach((name, doc) -> collect(name, doc, out));
        return out;
    }

    private static void collect(String name, Object node, List<Container> out) {
        if (node instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if ("containers".equals(e.getKey())) {
                    for (Object c : (List<?>) e.getValue()) {
                        out.add(container(name, map(c)));
                    }
                } else {
                    collect(name, e.getValue(), out);
                }
            }
        } else if (node instanceof List<?> l) {
            l.forEach(x -> collect(name, x, out));
        }
    }

    private static Container container(String name, Map<String, Object> c) {
        Map<String, String> env = new LinkedHashMap<>();
        for (Object e : list(c.get("env"))) {
            Map<String, Object> v = map(e);
            env.put((String) v.get("name"), v.containsKey("value") ? String.valueOf(v.get("value")) : "(secret)");
        }
        List<Integer> ports = new ArrayList<>();
        list(c.get("ports")).forEach(p -> ports.add(((Number) map(p).get("containerPort")).intValue()));
        List<String> probes = new ArrayList<>();
        for (String probe : List.of("readinessProbe", "livenessProbe", "startupProbe")) {
            if (c.get(probe) != null) {
                Map<String, Object> get = map(map(c.get(probe)).get("httpGet"));
                probes.add((String) get.get("path"));
                if (get.containsKey("port")) {
                    assertEquals(ports, List.of(((Number) get.get("port")).intValue()), name + " " + probe + " port");
                }
            }
        }
        List<String> mounts = new ArrayList<>();
        List<String> writable = new ArrayList<>();
        for (Object v : list(c.get("volumeMounts"))) {
            mounts.add((String) map(v).get("mountPath"));
            if (!Boolean.TRUE.equals(map(v).get("readOnly"))) {
                writable.add((String) map(v).get("mountPath"));
            }
        }
        return new Container(
                name + " container " + c.getOrDefault("name", "(unnamed)"),
                strings(c.get("command")),
                strings(c.get("args")),
                env,
                ports,
                probes,
                mounts,
                writable);
    }

    /** {@code command} runs {@code jar} with {@code cache}; what follows the jar is a command mode and options. */
    private static void checkCommand(
            String where, List<String> command, String jar, String cache, List<String> mounts) {
        assertEquals("java", command.get(0), where);
        int j = command.indexOf("-jar");
        assertTrue(j > 0 && j + 1 < command.size(), where + ": no -jar: " + command);
        assertEquals(jar, command.get(j + 1), where + ": the image's jar");
        assertTrue(command.subList(1, j).contains("-XX:AOTCache=" + cache), where + ": the image's AOT cache");
        assertTrue(
                command.subList(1, j).contains(JIT_FLAG),
                where + ": the JIT thresholds bin/run starts with (" + JIT_FLAG + ")");
        List<String> rest = command.subList(j + 2, command.size());
        if (!rest.isEmpty() && !rest.get(0).startsWith("-")) {
            assertTrue(Main.COMMANDS.contains(rest.get(0)), where + ": Main has no command " + rest.get(0));
        }
        int config = rest.indexOf("--config");
        if (config >= 0) {
            String file = rest.get(config + 1);
            assertTrue(mounts.stream().anyMatch(file::startsWith), where + ": " + file + " is not in a mounted volume");
        }
        for (String arg : rest) {
            assertTrue(
                    Main.COMMANDS.contains(arg) || arg.equals("--config") || arg.startsWith("/"),
                    where + ": Main does not accept " + arg);
        }
    }

    private static Map<String, Object> spec(String descriptor) {
        return map(
                map(map(map(docs.get(descriptor)).get("spec")).get("template")).get("spec"));
    }

    private static Map<String, Object> annotations(String descriptor) {
        return map(map(map(map(map(docs.get(descriptor)).get("spec")).get("template"))
                        .get("metadata"))
                .get("annotations"));
    }

    private static Map<String, Object> lambdaFunction() {
        Map<String, Object> resources =
                map(map(docs.get("lambda/template.yaml")).get("Resources"));
        for (Object r : resources.values()) {
            if ("AWS::Serverless::Function".equals(map(r).get("Type"))) {
                return map(map(r).get("Properties"));
            }
        }
        return fail("no AWS::Serverless::Function in lambda/template.yaml");
    }

    private static Map<String, Object> lambdaVariables() {
        Map<String, Object> vars =
                new LinkedHashMap<>(map(map(lambdaFunction().get("Environment")).get("Variables")));
        vars.replaceAll((k, v) -> v instanceof String s ? s : v instanceof Map ? "(reference)" : String.valueOf(v));
        return vars;
    }

    // ---- what the code reads ---------------------------------------------------------------------------------------

    /** The shipped config's {@code server.port}, with no environment. */
    private static String defaultPort() {
        String port = ConfigSchema.load(Path.of(Main.DEFAULT_CONFIG), Map.of())
                .server()
                .get("server.port");
        assertNotNull(port);
        return port;
    }

    /**
     * Names the code reads from the environment: upper-case string literals in the main source files that read it
     * (call {@code getenv} or take the environment map), where the names are passed to it or kept as constants.
     */
    private static Set<String> variablesReadByTheCode() throws IOException {
        Set<String> names = new TreeSet<>();
        Pattern literal = Pattern.compile("\"([A-Z][A-Z0-9_]{2,})\"");
        try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
            for (Path p : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String src = Files.readString(p);
                if (!src.contains("getenv(") && !src.contains("Map<String, String> env")) {
                    continue;
                }
                Matcher m = literal.matcher(src);
                while (m.find()) {
                    names.add(m.group(1));
                }
            }
        }
        return names;
    }

    /** Variables the shipped config substitutes ({@code ${VAR}}, {@code ${VAR:-x}}, {@code ${VAR:+x}}). */
    private static Set<String> variablesInShippedConfig() throws IOException {
        Set<String> names = new TreeSet<>();
        Matcher m = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)")
                .matcher(Files.readString(Path.of(Main.DEFAULT_CONFIG)));
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    /** What {@code --help} prints. */
    private static String help() {
        PrintStream out = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            Main.Started started =
                    Main.start(new String[] {"--help"}, Map.of(), new PrintStream(new ByteArrayOutputStream()));
            assertEquals(0, started.exitCode());
        } finally {
            System.setOut(out);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    // ---- YAML helpers --------------------------------------------------------------------------------------------

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        assertTrue(o instanceof Map, "expected a mapping, got " + o);
        return (Map<String, Object>) o;
    }

    private static List<?> list(Object o) {
        return o == null ? List.of() : (List<?>) o;
    }

    private static List<String> strings(Object o) {
        List<String> out = new ArrayList<>();
        list(o).forEach(x -> out.add(String.valueOf(x)));
        return out;
    }
}
