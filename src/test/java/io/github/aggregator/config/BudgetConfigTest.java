package io.github.aggregator.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.aggregator.source.BudgetConfig;
import io.github.aggregator.source.SourceTemplate;
import io.github.aggregator.testing.ConfigSchema;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading {@code aggregator.budgets} and a source's {@code budget}, and the one-line refusals. */
class BudgetConfigTest {
    @TempDir
    Path dir;

    private static String file(String budgets, String sources) {
        return "aggregator:\n" + budgets + "  sources:\n" + sources;
    }

    private static String source(String id, String budget) {
        return "    - id: " + id + "\n      url: https://api.example.com/" + id + "\n"
                + (budget == null ? "" : "      budget: " + budget + "\n");
    }

    private static final String PLAN = "  budgets:\n    - id: apiverve\n      limits: [60/1m, 1000/1d]\n";

    private ConfigFile load(String yaml) throws IOException {
        Path file = dir.resolve("application.yaml");
        Files.writeString(file, yaml);
        return ConfigSchema.load(file, Map.of());
    }

    private String refused(String yaml) {
        Path file = dir.resolve("application.yaml");
        try {
            Files.writeString(file, yaml);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        String m = assertThrows(ConfigException.class, () -> ConfigSchema.load(file, Map.of()))
                .getMessage();
        assertEquals(1, m.lines().count(), m);
        return m.replace(file.toString(), "FILE");
    }

    @Test
    void budgetsAndTheSourcesThatSpendThemAreRead() throws IOException {
        ConfigFile c = load(file(PLAN, source("weather", "apiverve") + source("free", null)));
        assertEquals(
                List.of(new BudgetConfig(
                        "apiverve",
                        List.of(
                                new BudgetConfig.Limit(60, Duration.ofMinutes(1)),
                                new BudgetConfig.Limit(1000, Duration.ofDays(1))))),
                c.aggregator().budgets());
        assertEquals("apiverve", c.aggregator().sources().get(0).budget());
        assertNull(c.aggregator().sources().get(1).budget(), "no budget by default");
        assertEquals("60/1m", c.aggregator().budgets().get(0).limits().get(0).toString());
        assertEquals("1000/1d", c.aggregator().budgets().get(0).limits().get(1).toString());
        // the day limit decides the even spacing: 1000 requests over 1d plus its 1s margin
        assertEquals(Duration.ofMillis(86_401), c.aggregator().budgets().get(0).spacing());
        assertEquals(
                List.of(), load(file("", source("free", null))).aggregator().budgets(), "none by default");
    }

    @Test
    void everyInstanceOfAParametrisedSourceSpendsItsBudget() throws IOException {
        ConfigFile c = load(file(
                PLAN,
                "    - id: weather\n      url: https://api.example.com/w?city={city}\n      budget: apiverve\n"
                        + "      params:\n        city:\n          values: [NYC, LA]\n"));
        SourceTemplate t = c.aggregator().templates().get(0);
        SourceTemplate.Instance nyc = (SourceTemplate.Instance) t.resolve(Map.of("city", "NYC"));
        assertEquals("apiverve", nyc.config().budget());
    }

    @Test
    void anUnknownBudgetIsRefusedNamingTheSourceAndField() {
        assertEquals(
                "FILE:8: source \"weather\" field \"budget\": unknown budget \"apiverv\" (aggregator.budgets has"
                        + " apiverve)",
                refused(file(PLAN, source("weather", "apiverv"))));
        assertEquals(
                "FILE:5: source \"weather\" field \"budget\": unknown budget \"plan\" (aggregator.budgets has none)",
                refused(file("", source("weather", "plan"))));
    }

    @Test
    void badLimitsAreRefusedInOneLine() {
        String[][] cases = {
            {"[60 per minute]", "\"60 per minute\" is not a limit: write requests/window, e.g. 60/1m or 1000/1d"},
            {"[0/1m]", "\"0/1m\": requests must be between 1 and 100000"},
            {"[5/soon]", "\"5/soon\" has no valid window: use 30s, 5m, 1h or 1d after the slash"},
            {"[5/100ms]", "\"5/100ms\": window must be between 1s and 31d"},
            {"[5/1m, 9/1m]", "has two limits over the same window (1m)"},
            {"[]", "must be a non-empty list such as [60/1m, 1000/1d]"},
        };
        for (String[] c : cases) {
            String budgets = "  budgets:\n    - id: plan\n      limits: " + c[0] + "\n";
            assertEquals(
                    "FILE:4: field \"budgets.plan.limits\": " + c[1],
                    refused(file(budgets, source("a", "plan"))),
                    c[0]);
        }
        assertEquals(
                "FILE:5: field \"budgets.id\": duplicate budget id \"plan\"",
                refused(file(
                        "  budgets:\n    - id: plan\n      limits: [1/1s]\n    - id: plan\n      limits: [2/1s]\n",
                        source("a", "plan"))));
    }

    @Test
    void aBudgetThatCannotGiveEachSourceOneRequestPerWindowIsRefused() throws IOException {
        String budgets = "  budgets:\n    - id: plan\n      limits: [100/1m, 2/1d]\n";
        assertEquals(
                "FILE:14: source \"c\" field \"budget\": budget \"plan\" allows 2/1d, which cannot give each of its 3"
                        + " sources one request per window",
                refused(file(budgets, source("a", "plan") + source("b", "plan") + source("c", "plan"))));
        // two fit; a disabled source and a source without budget do not count
        load(file(
                budgets,
                source("a", "plan") + source("b", "plan")
                        + "    - id: c\n      url: https://api.example.com/c\n      budget: plan\n"
                        + "      enabled: false\n" + source("d", null)));
    }
}
