package io.github.aggregator.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * A real headless Chromium driven through chromedriver (Selenium), for tests of the pages. The binaries are taken from
 * {@code CHROME_BIN} and {@code CHROMEDRIVER}, else {@code chromium} and {@code chromedriver} on the PATH, else {@code
 * /usr/bin/chromium} and {@code /usr/bin/chromedriver}; they are never downloaded. When one is missing, {@link #start()} fails with one line saying how to install it: a browser test
 * that silently skips would pass on a machine that cannot run it.
 */
public final class Browser implements AutoCloseable {
    private static final String INSTALL =
            "install it with `apt-get install -y chromium chromium-driver` (bin/test does this on a machine that lacks them)";

    private final ChromeDriver driver;

    private Browser(ChromeDriver driver) {
        this.driver = driver;
    }

    /** Starts Chromium with a 1280×900 window; the performance (network) log is on. */
    public static Browser start() {
        Path chrome = executable("CHROME_BIN", "chromium", "/usr/bin/chromium", "Chromium");
        Path chromedriver = executable("CHROMEDRIVER", "chromedriver", "/usr/bin/chromedriver", "chromedriver");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chrome.toFile());
        options.addArguments(
                "--headless=new",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking");
        options.setCapability("goog:loggingPrefs", Map.of("performance", "ALL"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(chromedriver.toFile())
                .usingAnyFreePort()
                .build();
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(10));
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(20));
        return new Browser(driver);
    }

    /** {@code $env} when set, else {@code name} on the PATH, else {@code fallback}; fails when it is not executable. */
    private static Path executable(String env, String name, String fallback, String what) {
        String value = System.getenv(env);
        Path path = value != null && !value.isBlank()
                ? Path.of(value)
                : onPath(name).orElse(Path.of(fallback));
        if (!Files.isExecutable(path)) {
            throw new AssertionError(what + " not found at " + path + " (set " + env + " to use another): " + INSTALL);
        }
        return path;
    }

    private static Optional<Path> onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        return Arrays.stream(path.split(File.pathSeparator))
                .filter(dir -> !dir.isBlank())
                .map(dir -> Path.of(dir, name))
                .filter(Files::isExecutable)
                .findFirst();
    }

    public ChromeDriver driver() {
        return driver;
    }

    /** The first element matching {@code css}; fails when there is none. */
    public WebElement find(String css) {
        return driver.findElement(By.cssSelector(css));
    }

    /** Runs {@code script} in the page and returns its result. */
    public Object js(String script, Object... args) {
        return driver.executeScript(script, args);
    }

    /** The page's text content of the first element matching {@code css}, or null when there is none. */
    public String text(String css) {
        return (String) js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", css);
    }

    /** Attribute {@code name} of the first element matching {@code css}, null when it has none. */
    public String attribute(String css, String name) {
        return find(css).getDomAttribute(name);
    }

    /**
     * Adds an element with {@code attributes} to the page, then the widget script from {@code scriptUrl} (absolute),
     * as a site embedding the widget would.
     */
    public void includeWidget(String scriptUrl, Map<String, String> attributes) {
        js("""
                const [attributes, src] = arguments;
                const el = document.createElement('div');
                for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
                document.body.prepend(el);
                const script = document.createElement('script');
                script.src = src;
                document.head.appendChild(script);
                """, attributes, scriptUrl);
    }

    /** Emulates a device {@code width}×{@code height} CSS pixels wide (a phone, for instance); {@code 0} resets. */
    public void viewport(int width, int height) {
        if (width == 0) {
            driver.executeCdpCommand("Emulation.clearDeviceMetricsOverride", Map.of());
            return;
        }
        driver.executeCdpCommand(
                "Emulation.setDeviceMetricsOverride",
                Map.of("width", width, "height", height, "deviceScaleFactor", 1, "mobile", true));
    }

    /** Saves a PNG of the viewport as {@code target/screenshots/<name>.png} and returns its path. */
    public Path screenshot(String name) {
        try {
            Path dir = Files.createDirectories(Path.of("target", "screenshots"));
            Path file = dir.resolve(name + ".png");
            Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        driver.quit();
    }
}
