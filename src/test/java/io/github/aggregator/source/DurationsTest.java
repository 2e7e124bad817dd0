package io.github.aggregator.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

    static Stream<Arguments> accepted() {
        return Stream.of(
                Arguments.of("500ms", Duration.ofMillis(500)),
                Arguments.of("30s", Duration.ofSeconds(30)),
                Arguments.of("5m", Duration.ofMinutes(5)),
                Arguments.of("1h", Duration.ofHours(1)),
                Arguments.of("2d", Duration.ofDays(2)),
                Arguments.of("0s", Duration.ZERO),
                Arguments.of(" 30s ", Duration.ofSeconds(30)),
                Arguments.of("PT60S", Duration.ofSeconds(60)),
                Arguments.of("pt1m", Duration.ofMinutes(1)),
                Arguments.of("PT0.5S", Duration.ofMillis(500)),
                Arguments.of("P1DT2H", Duration.ofHours(26)));
    }

    @ParameterizedTest(name = "\"{0}\" is {1}")
    @MethodSource("accepted")
    void parsesFriendlyAndIsoFormats(String text, Duration expected) {
        assertEquals(expected, Durations.parse(text));
    }

    @ParameterizedTest(name = "\"{0}\" is refused")
    @NullAndEmptySource
    @ValueSource(
            strings = {
                "30",
                "s",
                "1.5s",
                "-5s",
                "30 sec",
                "1w",
                "soon",
                "P",
                "PT",
                "PTxS",
                "99999999999999999999s",
                // each of these fits a long but overflows Duration: must be refused, not an ArithmeticException
                "9223372036854775807h",
                "9223372036854775807m",
                "9223372036854775807d"
            })
    void refusesAnythingElseWithAnIllegalArgumentThatNamesTheFormats(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse(text));
        if (text != null && !text.isBlank()) {
            assertTrue(e.getMessage().contains("\"" + text.trim() + "\""), e.getMessage());
        }
        assertTrue(e.getMessage().contains("500ms"), e.getMessage());
        assertTrue(e.getMessage().contains("PT30S"), e.getMessage());
    }

    static Stream<Arguments> formatted() {
        return Stream.of(
                Arguments.of(Duration.ofMillis(500), "500ms"),
                Arguments.of(Duration.ofMillis(1500), "1500ms"),
                Arguments.of(Duration.ofSeconds(30), "30s"),
                Arguments.of(Duration.ofSeconds(90), "90s"),
                Arguments.of(Duration.ofMinutes(5), "5m"),
                Arguments.of(Duration.ofHours(1), "1h"),
                Arguments.of(Duration.ofHours(48), "48h"),
                Arguments.of(Duration.ZERO, "0s"));
    }

    @ParameterizedTest(name = "{0} formats as \"{1}\"")
    @MethodSource("formatted")
    void formatsTheWayConfigAcceptsIt(Duration d, String expected) {
        assertEquals(expected, Durations.format(d));
        assertEquals(d, Durations.parse(expected));
    }

    @Test
    void isoAndShortFormsAgree() {
        assertEquals(Durations.parse("PT5M"), Durations.parse("5m"));
        assertEquals(Durations.parse("pt0.1s"), Durations.parse("100ms"));
    }
}
